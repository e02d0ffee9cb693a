"""Instruments published in the browser: upload (validator messages), draft, preview and
diff against the active version, publish now or from a later day, review dates."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.instruments import activate_due
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


def _v2() -> str:
    lines = SHOP.splitlines()
    text = "\n".join("version: 2" if line.startswith("version:") else line for line in lines)
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
    assert _versions(app) == [(1, "published", True), (2, "draft", False)]  # not active yet
    show = client.get(page.headers["Location"]).get_data(as_text=True)
    soup = BeautifulSoup(show, "html.parser")
    assert [tr.select("td")[0].get_text() for tr in soup.select("table.changes tbody tr")] \
        == ["改写"]
    assert soup.select(".preview .item")  # rendered as the phone renders it
    token = csrf_token(show)
    done = client.post(page.headers["Location"] + "/publish", data={
        "csrf_token": token, "effective_on": date.today().isoformat()})
    assert done.status_code == 302
    assert _versions(app) == [(1, "published", False), (2, "published", True)]
    with app.app_context(), new_session() as session:
        v2 = session.exec(select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == "sales-mystery-shop",
            InstrumentVersion.version == 2)).one()
        admin = session.exec(select(User).where(User.username == "admin")).one()
        assert v2.approved_by == admin.id and v2.approved_at is not None


def test_publishing_for_a_later_day_keeps_the_old_version_until_then(client, auth, app):
    auth.as_role("admin")
    page = _upload(client, _v2())
    later = date.today() + timedelta(days=10)
    token = csrf_token(client.get(page.headers["Location"]).get_data(as_text=True))
    client.post(page.headers["Location"] + "/publish", data={
        "csrf_token": token, "effective_on": later.isoformat()})
    assert _versions(app) == [(1, "published", True), (2, "published", False)]
    with app.app_context(), new_session() as session:
        assert activate_due(session, later)
        session.commit()
    assert _versions(app) == [(1, "published", False), (2, "published", True)]


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
    assert "v1" in overdue and "aftersales" not in overdue


def test_cli_load_keeps_drafts_until_published(runner, bare_app, tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    root = Path(__file__).resolve().parent.parent / "surveys"
    (folder / "touchpoints.yaml").write_text((root / "touchpoints.yaml").read_text())
    (folder / "shop.yaml").write_text(SHOP)
    assert "(draft" in runner.invoke(args=["surveys", "load", str(folder)]).output
    assert _versions(bare_app) == [(1, "draft", False)]
    runner.invoke(args=["surveys", "load", "--publish", str(folder)])
    assert _versions(bare_app) == [(1, "published", True)]
