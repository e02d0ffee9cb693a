"""Store scorecards, region leagues and monthly PDF reports. The PDFs are read back with OCR
(tesseract, Chinese) as a store manager's eyes would read them: the store's name, its grade
and a touchpoint label must be legible."""

from __future__ import annotations

import io
import re
import subprocess
import time
import zipfile
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.models import ReportBatch, ResponseEvidence, Store
from app.photos import store_photo
from tests.loop_helpers import GOOD, RED_LINE, add_report, png, token
from tests.test_dashboard import text_of
from tests.test_posters import ocr_tools

MONTH = date.today().strftime("%Y-%m")


@pytest.fixture
def month_of_reports(app):
    """This month: E1 strong, E2 weak with a photo on a failed item, W1 middling."""
    day = date.today().replace(day=1)
    for i in range(4):
        add_report(app, store="E1", status="approved", day=day, answers=GOOD)
        add_report(app, store="E2", status="approved", day=day, answers={
            **RED_LINE, "drinks": "no", "test_drive_offered": "no"})
        add_report(app, store="W1", status="approved", day=day, answers={
            **GOOD, "card_given": "no" if i % 2 else "yes"})
    response_id = add_report(app, store="E2", status="approved", day=day, answers={
        **GOOD, "drinks": "no"})
    with app.app_context(), new_session() as session:
        stored = store_photo(session, data=png((300, 200)), storage=app.extensions["storage"],
                             max_bytes=10**6, uploaded_by=None)
        session.add(ResponseEvidence(response_id=response_id, item_id="drinks",
                                     sha256=stored.sha256))
        session.commit()
    return response_id


def test_the_store_scorecard_shows_grade_rank_and_touchpoints(client, auth, month_of_reports):
    auth.as_role("manager")
    page = client.get(f"/scorecards/stores/E1?period={MONTH}")
    assert page.status_code == 200
    text = text_of(page)
    assert "上海一店" in text and "优良" in text and "进店问候" in text
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    assert soup.select_one("#touchpoints")
    weak = text_of(client.get(f"/scorecards/stores/E2?period={MONTH}"))
    assert "不合格" in weak


def test_without_a_month_the_scorecard_opens_on_the_latest_month_with_visits(app, client, auth):
    """Early in a month the current one is empty: the store's manager lands on last month's
    card, and its PDF link follows."""
    last_month = date.today().replace(day=1) - timedelta(days=1)
    add_report(app, store="W1", status="approved", day=last_month, answers=GOOD)
    auth.as_role("store_manager")
    page = client.get("/scorecards/stores/W1")
    key = last_month.strftime("%Y-%m")
    assert f"/reports/stores/W1/{key}.pdf" in page.get_data(as_text=True)
    assert "成都一店" in text_of(page) and "本月没有已审核通过的暗访" not in text_of(page)
    auth.as_role("manager_west")
    assert f"/reports/regions/west/{key}.pdf" in client.get(
        "/scorecards/regions/west").get_data(as_text=True)


def test_the_region_page_lists_its_stores_with_grades(client, auth, month_of_reports):
    auth.as_role("manager")
    page = client.get(f"/scorecards/regions/east?period={MONTH}")
    league = BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one("#league")
    rows = [r.get_text(" ", strip=True) for r in league.select("tbody tr")]
    assert "上海一店" in rows[0] and "优良" in rows[0]
    assert "杭州一店" in rows[1] and "不合格" in rows[1]
    assert "成都一店" not in page.get_data(as_text=True)


def test_a_store_target_replaces_the_network_target(app, client, auth, month_of_reports):
    from app.models import TouchpointTarget

    with app.app_context(), new_session() as session:
        e1 = session.exec(select(Store).where(Store.code == "E1")).one()
        session.add(TouchpointTarget(touchpoint_id="greeting", region_id=e1.region_id,
                                     target=70))
        session.add(TouchpointTarget(touchpoint_id="greeting", store_id=e1.id, target=99))
        session.commit()
    auth.as_role("manager")
    soup = BeautifulSoup(client.get(f"/scorecards/stores/E1?period={MONTH}").get_data(
        as_text=True), "html.parser")
    greeting = next(r for r in soup.select("#touchpoints tbody tr") if "进店问候" in r.text)
    assert [c.get_text(strip=True) for c in greeting.find_all("td")][4] == "99"
    soup = BeautifulSoup(client.get(f"/scorecards/stores/E2?period={MONTH}").get_data(
        as_text=True), "html.parser")
    greeting = next(r for r in soup.select("#touchpoints tbody tr") if "进店问候" in r.text)
    assert [c.get_text(strip=True) for c in greeting.find_all("td")][4] == "70"  # the region's


def _pages(pdf: bytes, tmp_path, dpi: int = 200) -> list:
    from PIL import Image

    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(tmp_path / "p")],
                   check=True)
    return [Image.open(p) for p in sorted(tmp_path.glob("p-*.png"))]


def read_first_page(pdf: bytes, tmp_path) -> str:
    page = _pages(pdf, tmp_path)[0]
    top = tmp_path / "top.png"
    page.crop((0, 0, page.width, int(page.height * 0.6))).save(top)
    out = subprocess.run(["tesseract", str(top), "-", "-l", "chi_sim+eng", "--psm", "4"],
                         check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", out)


def test_the_store_pdf_reads_as_the_store_grade_and_touchpoints(client, auth, month_of_reports,
                                                                 tmp_path):
    ocr_tools()
    auth.as_role("manager")
    pdf = client.get(f"/reports/stores/E1/{MONTH}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    seen = read_first_page(pdf.data, tmp_path)
    assert "上海一店" in seen and "优良" in seen and "进店问候" in seen


def test_the_weak_stores_pdf_carries_its_failed_items_and_photo(client, auth, month_of_reports,
                                                                tmp_path):
    ocr_tools()
    auth.as_role("manager")
    pdf = client.get(f"/reports/stores/E2/{MONTH}.pdf").data
    assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf  # the evidence photo
    seen = read_first_page(pdf, tmp_path)
    assert "杭州一店" in seen and "不合格" in seen


def test_the_region_pdf_reads_as_its_league(client, auth, month_of_reports, tmp_path):
    ocr_tools()
    auth.as_role("manager")
    pdf = client.get(f"/reports/regions/east/{MONTH}.pdf")
    assert pdf.status_code == 200
    seen = read_first_page(pdf.data, tmp_path)
    assert "华东区" in seen and "上海一店" in seen and "优良" in seen
    assert "成都一店" not in seen


def test_the_visit_pdf_is_the_full_report(client, auth, month_of_reports):
    auth.as_role("manager")
    pdf = client.get(f"/reports/visits/{month_of_reports}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


STORE_PATHS = ["/scorecards/stores/{s}", "/reports/stores/{s}/" + MONTH + ".pdf"]
REGION_PATHS = ["/scorecards/regions/{r}", "/reports/regions/{r}/" + MONTH + ".pdf"]


@pytest.mark.parametrize("path", STORE_PATHS)
@pytest.mark.parametrize("role, store, status", [
    ("admin", "W1", 200), ("manager", "E1", 200), ("manager", "W1", 404),
    ("store_manager", "W1", 200), ("store_manager", "W2", 404), ("manager", "NOPE", 404),
    ("reviewer", "E1", 403), ("shopper", "E1", 403),
])
def test_who_may_see_which_store(client, auth, month_of_reports, path, role, store, status):
    auth.as_role(role)
    page = client.get(path.format(s=store))
    assert page.status_code == status
    if status != 200:
        body = page.get_data(as_text=True)
        assert all(name not in body for name in ("上海一店", "杭州一店", "成都一店", "重庆一店"))


@pytest.mark.parametrize("path", REGION_PATHS)
@pytest.mark.parametrize("role, region, status", [
    ("admin", "west", 200), ("manager", "east", 200), ("manager", "west", 403),
    ("store_manager", "west", 403), ("manager", "nowhere", 404), ("reviewer", "east", 403),
])
def test_who_may_see_which_region(client, auth, month_of_reports, path, role, region, status):
    auth.as_role(role)
    page = client.get(path.format(r=region))
    assert page.status_code == status
    if status != 200:
        assert "成都一店" not in page.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/reports/stores/E1/2025-13.pdf", "/reports/stores/E1/x.pdf",
                                  "/scorecards/stores/E1?period=2025-00"])
def test_a_bad_month_is_not_found(client, auth, path):
    auth.as_role("manager")
    assert client.get(path).status_code == 404


def test_the_visit_pdf_of_another_region_is_not_found(client, auth, month_of_reports):
    auth.as_role("manager_west")
    assert client.get(f"/reports/visits/{month_of_reports}.pdf").status_code == 404


def test_a_region_batch_builds_a_zip_in_the_background(app, client, auth, month_of_reports):
    auth.as_role("manager")
    started = client.post(f"/reports/regions/east/{MONTH}/batch",
                          data={"csrf_token": token(client, "/scorecards/regions/east")})
    assert started.status_code == 303
    progress = started.headers["Location"]
    for _ in range(120):
        fragment = client.get(progress, headers={"HX-Request": "true"}).get_data(as_text=True)
        if "zip" in fragment.lower() and "progress" not in fragment:
            break
        time.sleep(0.5)
    with app.app_context(), new_session() as session:
        batch = session.exec(select(ReportBatch)).one()
    assert batch.status == "done" and batch.done == batch.total == 2
    archive = zipfile.ZipFile(io.BytesIO(client.get(progress + ".zip").data))
    assert sorted(archive.namelist()) == [f"E1-{MONTH}.pdf", f"E2-{MONTH}.pdf"]
    auth.as_role("manager_west")
    assert client.get(progress).status_code == 403
    assert client.get(progress + ".zip").status_code == 403


def test_a_batch_for_another_region_is_refused(app, client, auth):
    auth.as_role("manager")
    refused = client.post(f"/reports/regions/west/{MONTH}/batch",
                          data={"csrf_token": token(client, "/scorecards/regions/east")})
    assert refused.status_code == 403
    with app.app_context(), new_session() as session:
        assert session.exec(select(ReportBatch)).first() is None


def test_an_admin_sets_a_store_target_that_the_scorecard_uses(app, client, auth,
                                                              month_of_reports):
    auth.as_role("admin")
    saved = client.post("/scorecards/targets", data={
        "csrf_token": token(client, "/scorecards/targets"), "touchpoint": "greeting",
        "level": "store", "code": "E1", "target": "97"})
    assert saved.status_code == 303
    soup = BeautifulSoup(client.get(f"/scorecards/stores/E1?period={MONTH}").get_data(
        as_text=True), "html.parser")
    greeting = next(r for r in soup.select("#touchpoints tbody tr") if "进店问候" in r.text)
    assert [c.get_text(strip=True) for c in greeting.find_all("td")][4] == "97"


@pytest.mark.parametrize("data, message", [
    ({"touchpoint": "greeting", "level": "store", "code": "NOPE", "target": "90"}, "代码"),
    ({"touchpoint": "greeting", "level": "region", "code": "east", "target": "120"}, "0 到 100"),
    ({"touchpoint": "greeting", "level": "region", "code": "east", "target": "high"}, "0 到 100"),
    ({"touchpoint": "nowhere", "level": "region", "code": "east", "target": "90"}, "触点"),
])
def test_a_bad_target_says_why_and_stores_nothing(app, client, auth, data, message):
    from app.models import TouchpointTarget

    auth.as_role("admin")
    refused = client.post("/scorecards/targets",
                          data={"csrf_token": token(client, "/scorecards/targets"), **data})
    assert refused.status_code == 400 and message in text_of(refused)
    with app.app_context(), new_session() as session:
        assert session.exec(select(TouchpointTarget)).first() is None


@pytest.mark.parametrize("role", ["manager", "store_manager", "reviewer", "shopper"])
def test_only_admins_set_targets(client, auth, role):
    auth.as_role(role)
    assert client.get("/scorecards/targets").status_code == 403
    assert client.post("/scorecards/targets", data={
        "csrf_token": token(client, "/login"), "touchpoint": "greeting", "level": "region",
        "code": "east", "target": "90"}).status_code == 403


@pytest.mark.parametrize("role, lands_on", [
    ("manager", "/scorecards/regions/east"), ("store_manager", "/scorecards/stores/W1"),
])
def test_the_scorecards_start_where_the_manager_works(client, auth, role, lands_on):
    auth.as_role(role)
    assert client.get("/scorecards/").headers["Location"] == lands_on


def test_admins_choose_a_region(client, auth):
    auth.as_role("admin")
    assert "华东区" in text_of(client.get("/scorecards/"))
