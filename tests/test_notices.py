"""Notices of rounds not finished: a manager sees the rounds in their scope whose period has
ended with visits neither submitted nor approved, and where they are."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.models import Assignment, Round, Store, User, utcnow
from app.responses import create_scored_response
from tests.loop_helpers import GOOD, shop_case


def _round(app, name: str, *, ended_days_ago: int, visits: dict[str, str | None]) -> int:
    """A round with one visit per store code: None (never started), a response status, or
    "cancelled"."""
    today = date.today()
    with app.app_context(), new_session() as session:
        version = shop_case(session)
        shopper = session.exec(select(User).where(User.username == "shopper")).one()
        end = today - timedelta(days=ended_days_ago)
        found = Round(name=name, period_start=end - timedelta(days=27), period_end=end,
                      instrument_version_id=version.id)
        session.add(found)
        session.flush()
        for code, state in visits.items():
            store = session.exec(select(Store).where(Store.code == code)).one()
            assignment = Assignment(
                instrument_version_id=version.id, store_id=store.id, shopper_id=shopper.id,
                window_start=found.period_start, window_end=end, round_id=found.id,
                cancelled_at=utcnow() if state == "cancelled" else None)
            session.add(assignment)
            session.flush()
            if state not in (None, "cancelled"):
                create_scored_response(session, version=version, store=store, raw_answers=GOOD,
                                       channel="shopper", status=state, day=end,
                                       shopper_id=shopper.id, assignment_id=assignment.id)
        session.commit()
        return found.id


def _round_notices(client) -> list[str]:
    page = BeautifulSoup(client.get("/actions/notices").get_data(as_text=True), "html.parser")
    return [li.get_text(" ", strip=True) for li in page.select("#notices li.notice-round_unfinished")]


@pytest.fixture
def rounds(app):
    return {
        "october": _round(app, "十月暗访", ended_days_ago=3, visits={
            "W1": None, "W2": "approved", "E1": "returned", "E2": "submitted"}),
        "done": _round(app, "九月暗访", ended_days_ago=33, visits={
            "W1": "approved", "E1": "submitted", "E2": "cancelled"}),
        "running": _round(app, "本月暗访", ended_days_ago=-10, visits={"W1": None, "E1": None}),
    }


@pytest.mark.parametrize("role, names, counts", [
    ("store_manager", ["成都一店"], "1 次走访中 1 次"),
    ("manager_west", ["成都一店"], "2 次走访中 1 次"),
    ("manager", ["上海一店"], "2 次走访中 1 次"),
    ("admin", ["上海一店", "成都一店"], "4 次走访中 2 次"),
])
def test_a_manager_sees_the_ended_rounds_with_unfinished_visits_in_scope(client, auth, rounds,
                                                                          role, names, counts):
    auth.as_role(role)
    [notice] = _round_notices(client)  # not the finished round, not the running one
    assert "轮次未完成" in notice and "十月暗访" in notice and counts in notice
    for name in ["上海一店", "杭州一店", "成都一店", "重庆一店"]:
        assert (name in notice) is (name in names)


def test_only_the_admin_is_sent_to_the_round_page(client, auth, rounds):
    auth.as_role("admin")
    page = BeautifulSoup(client.get("/actions/notices").get_data(as_text=True), "html.parser")
    link = page.select_one("#notices li.notice-round_unfinished a")["href"]
    assert client.get(link).status_code == 200
    auth.as_role("manager_west")
    page = BeautifulSoup(client.get("/actions/notices").get_data(as_text=True), "html.parser")
    assert page.select_one("#notices li.notice-round_unfinished a") is None


def test_a_round_with_every_visit_done_or_cancelled_gives_no_notice(app, client, auth):
    _round(app, "八月暗访", ended_days_ago=60, visits={"W1": "approved", "W2": "cancelled"})
    auth.as_role("manager_west")
    assert _round_notices(client) == []


@pytest.mark.parametrize("role", ["reviewer", "shopper"])
def test_shoppers_and_reviewers_have_no_notice_page(client, auth, rounds, role):
    auth.as_role(role)
    assert client.get("/actions/notices").status_code == 403
