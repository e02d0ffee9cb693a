"""Appeals: a store contests item results within the appeal period; a reviewer overturns or
upholds each; an overturn changes the report's scores and the store's scores on the board,
keeps the earlier version, and the shopper sees the outcome."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.models import Appeal, AppealItem, Response, ResponseRevision, TouchpointScore
from tests.loop_helpers import RED_LINE, add_report, approve, png, token
from tests.test_dashboard import text_of


@pytest.fixture
def report(app, client, auth):
    """An approved W1 report that failed the greeting red line (W1: store_manager's store)."""
    response_id = add_report(app, answers=RED_LINE)
    assert approve(client, auth, response_id).status_code == 303
    return response_id


def file(client, response_id, items: dict, photo: bytes | None = None):
    data = {"csrf_token": token(client, f"/appeals/new/{response_id}"), "item": list(items)}
    for item_id, reason in items.items():
        data[f"reason_{item_id}"] = reason
        if photo is not None:
            data[f"photo_{item_id}"] = (io.BytesIO(photo), "proof.png")
    return client.post(f"/appeals/new/{response_id}", data=data,
                       content_type="multipart/form-data")


def decide(client, appeal_id, decisions: dict):
    data = {"csrf_token": token(client, f"/appeals/{appeal_id}")}
    for item_id, decision in decisions.items():
        data[f"decision_{item_id}"] = decision
        data[f"note_{item_id}"] = "监控显示有问候"
    return client.post(f"/appeals/{appeal_id}/decide", data=data)


def board_score(client, label: str) -> str:
    page = BeautifulSoup(client.get("/manager/?store=W1").get_data(as_text=True), "html.parser")
    for row in page.select("table.board tbody tr"):
        cells = [c.get_text(" ", strip=True) for c in row.find_all("td")]
        if label in cells[1]:
            return cells[2]
    raise AssertionError(f"{label} not on the board")


def test_an_overturned_item_rescores_the_report_everywhere(app, client, auth, report):
    auth.as_role("store_manager")
    assert board_score(client, "进店问候") == "0.0"
    filed = file(client, report, {"greeted": "店员在门口已问候，见监控截图"}, photo=png())
    assert filed.status_code == 303
    appeal_url = filed.headers["Location"]
    auth.as_role("reviewer")
    listing = text_of(client.get("/appeals/"))
    assert "成都一店" in listing
    appeal_id = int(appeal_url.rsplit("/", 1)[1])
    assert decide(client, appeal_id, {"greeted": "overturned"}).status_code == 303
    with app.app_context(), new_session() as session:
        response = session.get(Response, report)
        greeting = session.exec(select(TouchpointScore).where(
            TouchpointScore.response_id == report,
            TouchpointScore.touchpoint_id == "greeting")).one()
        revision = session.exec(select(ResponseRevision)).one()
        appeal = session.get(Appeal, appeal_id)
    assert greeting.score > 0 and not greeting.critical_failed and greeting.counted
    assert revision.overall == appeal.overall_before < response.overall == appeal.overall_after
    auth.as_role("store_manager")
    assert board_score(client, "进店问候") != "0.0"  # the dashboard follows at once
    shown = text_of(client.get(appeal_url))
    assert "改判" in shown and "有问候" in shown
    auth.as_role("shopper")
    mine = text_of(client.get("/appeals/mine"))
    assert "30秒内有人问候: 改判" in mine and "greeted" not in mine  # the item in words


def test_an_upheld_item_changes_nothing(app, client, auth, report):
    auth.as_role("store_manager")
    filed = file(client, report, {"greeted": "不同意"})
    auth.as_role("reviewer")
    with app.app_context(), new_session() as session:
        before = session.get(Response, report).overall
    assert decide(client, int(filed.headers["Location"].rsplit("/", 1)[1]),
                  {"greeted": "upheld"}).status_code == 303
    with app.app_context(), new_session() as session:
        assert session.get(Response, report).overall == before
        assert session.exec(select(ResponseRevision)).first() is None


def test_every_item_needs_a_decision_and_a_decision_is_final(app, client, auth, report):
    auth.as_role("store_manager")
    appeal_id = int(file(client, report, {"greeted": "有问候"}).headers["Location"].rsplit(
        "/", 1)[1])
    auth.as_role("reviewer")
    assert decide(client, appeal_id, {}).status_code == 400
    assert decide(client, appeal_id, {"greeted": "upheld"}).status_code == 303
    assert decide(client, appeal_id, {"greeted": "overturned"}).status_code == 409


@pytest.mark.parametrize("items, status", [
    ({}, 400),
    ({"greeted": ""}, 400),  # no reason
    ({"licence_checked": "已查验"}, 400),  # it passed: nothing to contest
])
def test_a_bad_appeal_says_why_and_stores_nothing(app, client, auth, report, items, status):
    auth.as_role("store_manager")
    refused = file(client, report, items)
    assert refused.status_code == status
    assert "notice error" in refused.get_data(as_text=True) or "field-error" in \
        refused.get_data(as_text=True)
    with app.app_context(), new_session() as session:
        assert session.exec(select(AppealItem)).first() is None


def test_an_item_is_appealed_once(app, client, auth, report):
    auth.as_role("store_manager")
    assert file(client, report, {"greeted": "a"}).status_code == 303
    assert file(client, report, {"greeted": "b"}).status_code in (400, 409)
    with app.app_context(), new_session() as session:
        assert len(session.exec(select(AppealItem)).all()) == 1


def test_after_the_appeal_period_the_report_is_final(app, client, auth, report):
    with app.app_context(), new_session() as session:
        response = session.get(Response, report)
        response.reviewed_at = datetime.now(UTC) - timedelta(days=8)
        session.add(response)
        session.commit()
    auth.as_role("store_manager")
    assert "申诉期已结束" in text_of(client.get(f"/appeals/new/{report}"))
    assert file(client, report, {"greeted": "x"}).status_code == 409


def test_reviewers_see_the_appeal_rate_per_shopper(app, client, auth, report):
    auth.as_role("store_manager")
    file(client, report, {"greeted": "x"})
    auth.as_role("reviewer")
    rates = BeautifulSoup(client.get("/appeals/").get_data(as_text=True), "html.parser")
    row = rates.select_one("#appeal-rates tbody tr").get_text(" ", strip=True)
    assert row.startswith("shopper 1 1 100%")


def test_reviewers_see_how_often_a_shoppers_contested_items_are_overturned(app, client, auth):
    """Two items contested, one overturned: half of the shopper's decided items."""
    report = add_report(app, answers={**RED_LINE, "drinks": "no"})
    assert approve(client, auth, report).status_code == 303
    auth.as_role("store_manager")
    assert file(client, report, {"greeted": "录像为证", "drinks": "有饮品"}).status_code == 303
    with app.app_context(), new_session() as session:
        appeal_id = session.exec(select(Appeal.id)).one()
    auth.as_role("reviewer")
    assert decide(client, appeal_id, {"greeted": "overturned",
                                      "drinks": "upheld"}).status_code == 303
    rates = BeautifulSoup(client.get("/appeals/").get_data(as_text=True), "html.parser")
    row = rates.select_one("#appeal-rates tbody tr").get_text(" ", strip=True)
    assert row == "shopper 1 1 100% 2 1 50%"


def test_managers_see_the_deadline_of_appealable_reports(client, auth, report):
    auth.as_role("store_manager")
    listed = BeautifulSoup(client.get("/appeals/").get_data(as_text=True), "html.parser")
    assert "成都一店" in listed.select_one("#appealable").get_text()
    deadline = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    assert deadline in listed.select_one("#appealable").get_text()


@pytest.mark.parametrize("role, new_status, list_status", [
    ("admin", 200, 200), ("store_manager", 200, 200), ("manager_west", 200, 200),
    ("manager", 404, 200), ("reviewer", 403, 200), ("shopper", 403, 403),
])
def test_who_may_open_an_appeal(client, auth, report, role, new_status, list_status):
    auth.as_role(role)
    assert client.get(f"/appeals/new/{report}").status_code == new_status
    assert client.get("/appeals/").status_code == list_status
    if role == "manager":
        assert "成都一店" not in client.get("/appeals/").get_data(as_text=True)


@pytest.mark.parametrize("role, show, decide_status", [
    ("manager", 404, 403), ("store_manager", 200, 403), ("shopper", 403, 403),
    ("reviewer", 200, 400), ("admin", 200, 400),
])
def test_who_may_see_and_decide(app, client, auth, report, role, show, decide_status):
    auth.as_role("store_manager")
    appeal_id = int(file(client, report, {"greeted": "x"}).headers["Location"].rsplit("/", 1)[1])
    auth.as_role(role)
    assert client.get(f"/appeals/{appeal_id}").status_code == show
    posted = client.post(f"/appeals/{appeal_id}/decide",
                         data={"csrf_token": token(client, "/login")})
    assert posted.status_code == decide_status
    with app.app_context(), new_session() as session:
        assert session.get(Appeal, appeal_id).status == "open"


def test_anonymous_is_sent_to_login(app, report):
    anonymous = app.test_client()
    assert anonymous.get("/appeals/").status_code == 302
    assert anonymous.get(f"/appeals/new/{report}").status_code == 302
