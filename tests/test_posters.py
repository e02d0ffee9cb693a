"""Posters, table cards and code sheets: PDFs a manager prints. Chinese must come out right,
so the poster test reads the rendered page back with OCR, as a customer's eyes would."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import segno
from sqlmodel import select

from app.db import new_session
from app.models import Store, SurveyToken
from tests.test_public import answer, csrf_of, store_id, text_of

SURVEY = "aftersales-customer-survey"


def ocr_tools() -> None:
    missing = [t for t in ("pdftoppm", "tesseract") if shutil.which(t) is None]
    if missing or not Path("/usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata").exists():
        pytest.fail(f"OCR tools missing ({missing or 'chi_sim'}): run `make ocr-tools`")


def pdftotext_tool() -> None:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext missing: run `make ocr-tools` (poppler-utils)")


def ocr(pdf: bytes, tmp_path: Path, bands: list[tuple[float, float]]) -> str:
    """What a reader sees: page 1 as an image (150 dpi), its text bands (fractions of the
    page height, above and below the QR code, whose pattern upsets tesseract's layout
    analysis) read back by tesseract in Chinese and English. Whitespace removed."""
    from PIL import Image

    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(source), str(tmp_path / "page")], check=True)
    page = Image.open(tmp_path / "page.png")
    seen = []
    for number, (top, bottom) in enumerate(bands):
        band = tmp_path / f"band{number}.png"
        page.crop((0, int(page.height * top), page.width, int(page.height * bottom))).save(band)
        out = subprocess.run(["tesseract", str(band), "-", "-l", "chi_sim+eng"],
                             check=True, capture_output=True, text=True)
        seen.append(out.stdout)
    return re.sub(r"\s+", "", " ".join(seen))  # tesseract puts spaces between hanzi


POSTER_BANDS = [(0, 0.2), (0.62, 1)]
CARD_BANDS = [(0, 0.14), (0.66, 1)]


@pytest.mark.parametrize(("role", "store", "status"), [
    ("admin", "E1", 200), ("manager", "E1", 200), ("manager", "W1", 403),
    ("store_manager", "W1", 200), ("store_manager", "W2", 403),
    ("reviewer", "E1", 403), ("shopper", "E1", 403),
])
@pytest.mark.parametrize("path", ["poster.pdf", "card.pdf", "code.svg"])
def test_who_may_print_which_store(client, app, auth, role, store, status, path):
    auth.as_role(role)
    assert client.get(f"/qr/{store_id(app, store)}/{SURVEY}/{path}").status_code == status


@pytest.mark.parametrize("path", ["/qr/", "/qr/responses"])
@pytest.mark.parametrize(("role", "status"), [
    ("admin", 200), ("manager", 200), ("reviewer", 403), ("shopper", 403),
])
def test_who_may_open_the_qr_pages(client, auth, path, role, status):
    auth.as_role(role)
    expected = 403 if path == "/qr/responses" and role == "manager" else status
    assert client.get(path).status_code == expected


def test_unknown_store_or_survey_is_404(client, app, auth):
    auth.as_role("admin")
    assert client.get(f"/qr/9999/{SURVEY}/poster.pdf").status_code == 404
    assert client.get(f"/qr/{store_id(app)}/sales-mystery-shop/poster.pdf").status_code == 404


def test_the_qr_page_lists_stores_in_scope_only(client, auth):
    auth.as_role("manager")
    page = client.get("/qr/")
    text = text_of(page)
    assert "上海一店" in text and "杭州一店" in text and "成都一店" not in text
    link = re.search(r'href="(/s/[^"]+)"[^>]*>打开问卷', page.get_data(as_text=True)).group(1)
    assert "售后服务满意度调查" in text_of(client.get(link)) or "购车服务满意度调查" in text_of(
        client.get(link))


def test_the_poster_reads_as_the_store_name_and_the_instruction(client, app, auth, tmp_path):
    ocr_tools()
    auth.as_role("manager")
    pdf = client.get(f"/qr/{store_id(app)}/{SURVEY}/poster.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and len(pdf.data) < 200_000
    seen = ocr(pdf.data, tmp_path, POSTER_BANDS)
    assert "上海一店" in seen
    assert "扫码评价本次服务" in seen
    assert "Scanthecodetorateyourvisit" in seen


def test_the_table_card_reads_right_too(client, app, auth, tmp_path):
    ocr_tools()
    auth.as_role("admin")
    seen = ocr(client.get(f"/qr/{store_id(app, 'W1')}/{SURVEY}/card.pdf").data, tmp_path,
               CARD_BANDS)
    assert "成都一店" in seen and "扫码评价本次服务" in seen


def test_the_qr_code_opens_the_survey_of_its_store(client, app, auth):
    auth.as_role("admin")
    svg = client.get(f"/qr/{store_id(app)}/{SURVEY}/code.svg").data
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    # the same URL the code encodes, recomputed from what the page links to
    from app import posters

    with app.test_request_context():
        url = posters.survey_url(posters.store_token(store_id(app), SURVEY))
    assert segno.make(url, error="m").svg_inline()  # encodable
    survey = client.get(url.removeprefix("http://localhost"))
    assert survey.status_code == 200 and "上海一店" in text_of(survey)


def test_public_base_url_is_what_the_code_points_at(app):
    from app import posters

    app.config["PUBLIC_BASE_URL"] = "https://survey.example.cn/"
    with app.test_request_context():
        assert posters.survey_url("abc") == "https://survey.example.cn/s/abc"


# --- per-visit codes ---------------------------------------------------------------------


def make_batch(client, app, **data):
    page = client.get("/qr/")
    form = {"csrf_token": csrf_of(page), "store_id": str(store_id(app)),
            "instrument_id": SURVEY, **data}
    return client.post("/qr/batches", data=form, content_type="multipart/form-data")


def test_a_batch_of_codes_gets_a_page_and_a_sheet(client, app, auth):
    auth.as_role("manager")
    made = make_batch(client, app, count="3", label="6月交车")
    assert made.status_code == 303
    page = client.get(made.headers["Location"])
    assert "6月交车" in text_of(page) and text_of(page).count("— 未使用") == 3
    sheet = client.get(made.headers["Location"] + "/sheet.pdf")
    assert sheet.status_code == 200 and sheet.data.startswith(b"%PDF")


def test_order_numbers_from_a_csv_become_single_use_codes(client, app, auth, tmp_path):
    auth.as_role("admin")
    csv = "订单号\nSO-1001\nSO-1002\nSO-1001\n\n".encode()
    made = make_batch(client, app, orders=(io.BytesIO(csv), "orders.csv"))
    assert made.status_code == 303
    assert "SO-1002" in text_of(client.get(made.headers["Location"]))
    with app.app_context(), new_session() as session:
        rows = session.exec(select(SurveyToken).order_by(SurveyToken.id)).all()
        assert [r.reference for r in rows] == ["SO-1001", "SO-1002"]
    pdftotext_tool()
    sheet = tmp_path / "sheet.pdf"
    sheet.write_bytes(client.get(made.headers["Location"] + "/sheet.pdf").data)
    text = subprocess.run(["pdftotext", str(sheet), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "SO-1001" in text and "SO-1002" in text and "扫码评价本次服务" in text


def test_a_code_from_the_sheet_answers_once_and_leaves_the_sheet(client, app, auth):
    auth.as_role("admin")
    made = make_batch(client, app, count="2")
    from app import public_survey
    from app.models import SurveyTokenBatch

    with app.app_context(), new_session() as session:
        batch = session.exec(select(SurveyTokenBatch)).one()
        tokens_ = [t for _, t in public_survey.batch_codes(session, batch)]
    phone = app.test_client()
    assert answer(phone, tokens_[0]).status_code == 303
    assert "/thanks" in phone.get(f"/s/{tokens_[0]}").headers["Location"]  # "back" after thanks
    assert app.test_client().get(f"/s/{tokens_[0]}").status_code == 410
    assert answer(phone, tokens_[1]).status_code == 303  # single-use codes skip the phone limit
    assert text_of(client.get(made.headers["Location"])).count("已回答") == 2


def upload(data: bytes):
    return lambda: {"orders": (io.BytesIO(data), "orders.csv")}


@pytest.mark.parametrize(("data", "message"), [
    (dict, "请填写二维码数量或上传 CSV 文件"),
    (lambda: {"count": "0"}, ""),
    (lambda: {"count": "501"}, ""),
    (upload("订单号\nSO 1\n".encode()), "不是订单号"),
    (upload(b"\xff\xfe\x00bad"), ""),
    (upload(b""), ""),
    (upload("\n".join(f"SO-{n}" for n in range(501)).encode()), "每批最多 500 个二维码"),
])
def test_a_bad_batch_request_says_why_and_stores_nothing(client, app, auth, data, message):
    auth.as_role("admin")
    refused = make_batch(client, app, **data())
    assert refused.status_code == 400
    assert message in text_of(refused)
    with app.app_context(), new_session() as session:
        assert session.exec(select(SurveyToken)).first() is None


def test_a_manager_cannot_make_codes_for_another_region(client, app, auth):
    auth.as_role("manager")
    page = client.get("/qr/")
    with app.app_context(), new_session() as session:
        west = session.exec(select(Store.id).where(Store.code == "W1")).one()
    refused = client.post("/qr/batches", data={
        "csrf_token": csrf_of(page), "store_id": str(west), "instrument_id": SURVEY,
        "count": "2"})
    assert refused.status_code == 403


def test_a_batch_of_another_region_is_forbidden(client, app, auth):
    auth.as_role("admin")
    made = make_batch(client, app, count="1")
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/qr/"))})
    auth.as_role("manager_west")
    assert client.get(made.headers["Location"]).status_code == 403
    assert client.get(made.headers["Location"] + "/sheet.pdf").status_code == 403
