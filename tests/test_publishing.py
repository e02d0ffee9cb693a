"""Instruments published in the browser: upload (validator messages), draft, preview and
diff against the active version, publish now or from a later day, review dates."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app import clock
from app.db import new_session
from app.models import InstrumentVersion, User
from tests.conftest import csrf_token

SHOP = (Path(__file__).resolve().parent.parent / "surveys" / "sales-mystery-shop.yaml"
        ).read_text(encoding="utf-8")


def _upload(client, text: str, name: str = "sales-mystery-shop.yaml"):
    token = csrf_token(client.get("/admin/instruments/").get_data(as_text=True))
    return client.post("/admin/instruments/upload", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(text.encode()), name)})


def _versions(app):
    with app.app_context(), new_session() as session:
        return [(v.version, v.status, v.active) for v in session.exec(
            select(InstrumentVersion).where(
                InstrumentVersion.instrument_id == "sales-mystery-shop")
            .order_by(InstrumentVersion.version))]


SHIPPED = int(next(line for line in SHOP.splitlines() if line.startswith("version:")).split()[1])


def _v2() -> str:
    """The shipped checklist as the next version (same content otherwise)."""
    lines = SHOP.splitlines()
    text = "\n".join(f"version: {SHIPPED + 1}" if line.startswith("version:") else line
                     for line in lines)
    return text + "\n"


@pytest.mark.parametrize("role, status", [("admin", 200), ("manager", 403),
                                          ("reviewer", 403), ("shopper", 403)])
@pytest.mark.parametrize("path", ["/admin/instruments/", "/admin/instruments/1"])
def test_access(client, auth, role, status, path):
    auth.as_role(role)
    assert client.get(path).status_code == status


def test_a_bad_file_shows_the_validator_messages_and_stores_nothing(client, auth, app):
    auth.as_role("admin")
    before = _versions(app)
    page = _upload(client, _v2().replace("type: yes_no", "type: yes_or_no", 1))
    assert page.status_code == 400
    problems = [li.get_text() for li in BeautifulSoup(
        page.get_data(as_text=True), "html.parser").select("ul.problems li")]
    assert problems and all(p.startswith("sales-mystery-shop.yaml:") for p in problems)
    assert _versions(app) == before


def test_upload_is_a_draft_with_a_diff_then_published(client, auth, app):
    auth.as_role("admin")
    text = _v2()
    first_item = next(line for line in text.splitlines() if "text: {zh:" in line)
    zh = first_item.split("zh:")[1].split(",")[0].strip()
    text = text.replace(zh, zh + "（修订）", 1)
    page = _upload(client, text)
    assert page.status_code == 302
    assert _versions(app) == [(SHIPPED, "published", True), (SHIPPED + 1, "draft", False)]
    show = client.get(page.headers["Location"]).get_data(as_text=True)
    soup = BeautifulSoup(show, "html.parser")
    assert [tr.select("td")[0].get_text() for tr in soup.select("table.changes tbody tr")] \
        == ["改写"]
    frame = soup.select_one("#preview iframe")["src"]  # the shopper's own page, framed
    phone = BeautifulSoup(client.get(frame).get_data(as_text=True), "html.parser")
    assert phone.select("form#checklist .item[data-item]")
    token = csrf_token(show)
    with app.app_context():  # today on the stores' clock (the server's may still be yesterday)
        today = clock.today()
    done = client.post(page.headers["Location"] + "/publish", data={
        "csrf_token": token, "effective_on": today.isoformat()})
    assert done.status_code == 302
    assert _versions(app) == [(SHIPPED, "published", False), (SHIPPED + 1, "published", True)]
    with app.app_context(), new_session() as session:
        v2 = session.exec(select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == "sales-mystery-shop",
            InstrumentVersion.version == SHIPPED + 1)).one()
        admin = session.exec(select(User).where(User.username == "admin")).one()
        assert v2.approved_by == admin.id and v2.approved_at is not None


def test_publishing_for_a_later_day_keeps_the_old_version_until_then(client, auth, app):
    auth.as_role("admin")
    page = _upload(client, _v2())
    later = date.today() + timedelta(days=10)
    token = csrf_token(client.get(page.headers["Location"]).get_data(as_text=True))
    client.post(page.headers["Location"] + "/publish", data={
        "csrf_token": token, "effective_on": later.isoformat()})
    assert [s for _, s, _ in _versions(app)] == ["published", "published"]
    assert _in_use(app, "sales-mystery-shop") == SHIPPED
    app.config["NOW"] = f"{later.isoformat()}T00:01"  # that day comes; nobody opens a page
    assert _in_use(app, "sales-mystery-shop") == SHIPPED + 1


def _in_use(app, instrument_id: str) -> int | None:
    from app.instruments import active_version

    with app.app_context(), new_session() as session:
        row = active_version(session, instrument_id)
        return row.version if row else None


def test_a_survey_scheduled_for_a_later_day_reaches_customers_on_that_day(client, auth, app):
    """Published today for the 1st of next month: customers scanning the store's code get the
    old questions until then and the new ones from that day, with no admin visit between."""
    from tests.test_public import SURVEY, token_for

    shipped = (Path(__file__).resolve().parent.parent / "surveys" / f"{SURVEY}.yaml"
               ).read_text(encoding="utf-8")
    version = int(next(x for x in shipped.splitlines() if x.startswith("version:")).split()[1])
    reworded = shipped.replace(f"version: {version}", f"version: {version + 1}", 1).replace(
        "text: {zh: ", "text: {zh: 【新】", 1)
    auth.as_role("admin")
    draft = _upload(client, reworded, f"{SURVEY}.yaml")
    assert draft.status_code == 302, draft.get_data(as_text=True)
    first = (date.today().replace(day=1) + timedelta(days=32)).replace(day=1)
    token = csrf_token(client.get(draft.headers["Location"]).get_data(as_text=True))
    client.post(draft.headers["Location"] + "/publish", data={
        "csrf_token": token, "effective_on": first.isoformat()})
    customer = app.test_client()
    code = token_for(app)
    assert "【新】" not in customer.get(f"/s/{code}").get_data(as_text=True)
    app.config["NOW"] = f"{(first - timedelta(days=1)).isoformat()}T23:59"
    assert "【新】" not in customer.get(f"/s/{code}").get_data(as_text=True)
    app.config["NOW"] = f"{first.isoformat()}T00:00"
    assert "【新】" in customer.get(f"/s/{code}").get_data(as_text=True)
    assert _in_use(app, SURVEY) == version + 1


def test_overdue_review_is_listed_on_the_admin_home(client, auth, app):
    with app.app_context(), new_session() as session:
        for v in session.exec(select(InstrumentVersion).where(InstrumentVersion.active)):
            if v.instrument_id == "sales-mystery-shop":
                v.effective_on = date.today() - timedelta(days=400)
                session.add(v)
        session.commit()
    auth.as_role("admin")
    page = BeautifulSoup(client.get("/admin/").get_data(as_text=True), "html.parser")
    overdue = page.select_one(".notice.error").get_text()
    assert f"v{SHIPPED}" in overdue and "aftersales" not in overdue


def test_cli_load_keeps_drafts_until_published(runner, bare_app, tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    root = Path(__file__).resolve().parent.parent / "surveys"
    (folder / "touchpoints.yaml").write_text((root / "touchpoints.yaml").read_text())
    (folder / "shop.yaml").write_text(SHOP)
    assert "(draft" in runner.invoke(args=["surveys", "load", str(folder)]).output
    assert _versions(bare_app) == [(SHIPPED, "draft", False)]
    runner.invoke(args=["surveys", "load", "--publish", str(folder)])
    assert _versions(bare_app) == [(SHIPPED, "published", True)]


def test_reports_on_the_version_that_asked_the_times_keep_their_answers_and_scores(bare_app):
    """v1 of the sales checklist asked arrival and leaving times as items; v2 leaves them to
    the visit form. A v1 report keeps its answers and scores after v2 takes over, and the
    same visit scores the same on v2 (the time items were never scored)."""
    import random

    from app.demo import generate_answers
    from app.domain.definitions import Instrument
    from app.domain.scoring import score
    from app.instruments import definition, load_instrument
    from app.models import Store
    from app.responses import create_scored_response, stored_answers
    from tests.factories import _shipped, make_network

    _, shipped = _shipped()
    current = next(i for i in shipped if i.id == "sales-mystery-shop")
    old = current.model_dump(mode="json")
    old["version"] = current.version - 1
    old["sections"][0]["items"].insert(0, {
        "id": "visit_start", "type": "time", "weight": 0,
        "text": {"zh": "到店时间", "en": "Time of arrival"}})
    old = Instrument.model_validate(old)
    with bare_app.app_context(), new_session() as session:
        from app.instruments import load_taxonomy as store_taxonomy
        from tests.factories import load_taxonomy

        store_taxonomy(session, load_taxonomy(Path(__file__).resolve().parent.parent
                                              / "surveys" / "touchpoints.yaml"))
        make_network(session)
        load_instrument(session, old)
        v1 = session.exec(select(InstrumentVersion)).one()
        answers = generate_answers(definition(v1), {}, random.Random(3)) | {"visit_start": "09:15"}
        response, result = create_scored_response(
            session, version=v1, store=session.exec(select(Store)).first(), raw_answers=answers,
            channel="shopper", status="approved", day=date.today())
        load_instrument(session, current)  # v2, published today
        session.commit()
        rid, overall = response.id, result.overall

    assert _versions(bare_app) == [(SHIPPED - 1, "published", False), (SHIPPED, "published", True)]
    with bare_app.app_context(), new_session() as session:
        from app.models import Response

        stored = session.get(Response, rid)
        kept = stored_answers(session, rid)
        v1 = session.get(InstrumentVersion, stored.instrument_version_id)
        assert v1.version == SHIPPED - 1 and kept["visit_start"] == "09:15"
        assert stored.overall == overall == score(definition(v1), kept).overall
        without_time = {k: v for k, v in kept.items() if k != "visit_start"}
        assert score(current, without_time).overall == pytest.approx(overall)


def _questions(html: str) -> list[tuple]:
    """What a customer meets on the survey page: each question's text and choices, the
    call-back box and the button (codes, ids and tokens aside)."""
    soup = BeautifulSoup(html, "html.parser")
    form = soup.select_one("form#f")
    return [(q.get("id"), " ".join(q.get_text(" ", strip=True).split()),
             [i.get("value") for i in q.select("input[type=radio]")])
            for q in form.select("[data-q], fieldset.box")] + [
        form.select_one("button[type=submit]").get_text(strip=True),
        soup.select_one("style") is not None]


def test_a_customer_survey_preview_is_the_public_page(client, auth, app):
    """The preview of a customer survey is the page a customer gets from the QR code, with
    the same questions, choices, layout and checks, and storing nothing."""
    from app.models import Response
    from tests.test_public import SURVEY, token_for

    public = client.get(f"/s/{token_for(app)}").get_data(as_text=True)
    auth.as_role("admin")
    with app.app_context(), new_session() as session:
        vid = session.exec(select(InstrumentVersion.id).where(
            InstrumentVersion.instrument_id == SURVEY, InstrumentVersion.active)).one()
    show = BeautifulSoup(client.get(f"/admin/instruments/{vid}").get_data(as_text=True),
                         "html.parser")
    frame = show.select_one("#preview iframe")["src"]
    framed = client.get(frame)
    assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"  # only this site may frame it
    assert "frame-ancestors 'self'" in framed.headers["Content-Security-Policy"]
    assert client.get(f"/admin/instruments/{vid}").headers["X-Frame-Options"] == "DENY"
    preview = framed.get_data(as_text=True)
    assert _questions(preview) == _questions(public)
    checked = client.post(frame, data={"csrf_token": csrf_token(preview)})
    assert checked.status_code == 400 and 'class="alert"' in checked.get_data(as_text=True)
    with app.app_context(), new_session() as session:
        assert session.exec(select(Response)).all() == []


def test_a_checklist_preview_is_the_shoppers_page(client, auth, app):
    """The preview of a mystery shop is the shopper's checklist page: the same items, in the
    same order and widgets, with the visit times above them; it loads no script that saves."""
    from tests.factories import assign as assign_shipped

    with app.app_context(), new_session() as session:
        aid = assign_shipped(session, "sales-mystery-shop")
        session.commit()
        vid = session.exec(select(InstrumentVersion.id).where(
            InstrumentVersion.instrument_id == "sales-mystery-shop",
            InstrumentVersion.active)).one()

    def page(html):
        soup = BeautifulSoup(html, "html.parser")
        items = [(el["data-item"], el["data-type"], el.select_one("legend").get_text(" ", strip=True))
                 for el in soup.select("form#checklist .item[data-item]")]
        visit = [i.get("type") for i in soup.select("#visit-times input")]
        scripts = [s["src"].split("?")[0].rsplit("/", 1)[1] for s in soup.select("script[src]")]
        return items, visit, scripts

    auth.as_role("shopper")
    items, visit, scripts = page(client.get(f"/shopper/a/{aid}").get_data(as_text=True))
    auth.as_role("admin")
    seen, seen_visit, seen_scripts = page(
        client.get(f"/admin/instruments/{vid}/preview").get_data(as_text=True))
    assert (seen, seen_visit) == (items, visit) and len(items) > 40
    assert "checklist.js" in scripts and "checklist.js" not in seen_scripts
    assert "show_if.js" in seen_scripts and "preview.js" in seen_scripts


@pytest.mark.parametrize("role, status", [("admin", 200), ("manager", 403), ("reviewer", 403),
                                          ("shopper", 403)])
def test_preview_access(client, auth, role, status):
    auth.as_role(role)
    assert client.get("/admin/instruments/1/preview").status_code == status
