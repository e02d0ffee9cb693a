"""Closed loop: an unhappy answer opens a follow-up case due in 24 hours; the store's manager
sees it (open, overdue), records the contact and closes it. Scope and roles checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app import clock
from app.db import new_session
from app.domain.definitions import Instrument
from app.models import FollowUpCase, Response
from tests.factories import _shipped
from tests.test_public import answer, csrf_of, text_of, token_for


def the_cases(app) -> list[FollowUpCase]:
    with app.app_context(), new_session() as session:
        return list(session.exec(select(FollowUpCase).order_by(FollowUpCase.id)))


def survey() -> Instrument:
    return next(i for i in _shipped()[1] if i.id == "aftersales-customer-survey")


@pytest.mark.parametrize(("answers", "expected"), [
    ({"nps": 6}, ["detractor"]),
    ({"nps": 0, "overall_satisfaction": 1}, ["detractor", "low_overall"]),
    ({"nps": 7}, []),
    ({"nps": 10, "overall_satisfaction": 1}, ["low_overall"]),
    ({"nps": 10, "overall_satisfaction": 2}, []),
    ({"overall_satisfaction": "na"}, []),
    ({}, []),
])
def test_which_answers_open_a_case(answers, expected):
    from app.cases import reasons

    assert reasons(survey(), answers, call_back=False) == expected
    assert reasons(survey(), answers, call_back=True) == [*expected, "call_back"]


def open_case(app, client, store="E1", **answers) -> FollowUpCase:
    assert answer(client, token_for(app, store), **answers).status_code == 303
    return the_cases(app)[-1]


def test_a_detractor_opens_a_case_due_in_24_hours_and_the_customer_is_told(client, app):
    done = answer(client, token_for(app), nps="3", comment="等了三个小时")
    assert "24 小时内跟进" in text_of(client.get(done.headers["Location"]))
    (case,) = the_cases(app)
    assert case.status == "open" and case.reasons == "detractor" and case.nps == 3
    assert timedelta(hours=23, minutes=59) < case.due_at - case.opened_at <= timedelta(hours=24)
    assert case.phone == ""


def test_a_happy_answer_opens_no_case(client, app):
    done = answer(client, token_for(app))
    assert "跟进" not in text_of(client.get(done.headers["Location"]))
    assert the_cases(app) == []


def test_a_call_back_needs_consent_and_then_opens_a_case_with_the_number(client, app):
    token = token_for(app)
    refused = answer(client, token, phone="138 0000 1111")
    assert refused.status_code == 400 and "请勾选同意回电" in text_of(refused)
    assert answer(app.test_client(), token, phone="138-0000-1111!", call_back="yes").status_code == 400
    assert the_cases(app) == []
    assert answer(client, token, phone="138 0000 1111", call_back="yes").status_code == 303
    (case,) = the_cases(app)
    assert case.reasons == "call_back" and case.phone == "138 0000 1111"


def test_the_manager_sees_records_and_closes_a_case(client, app, auth):
    case = open_case(app, app.test_client(), nps="2", comment="<b>太慢</b>")
    auth.as_role("manager")
    listing = client.get("/cases/")
    assert listing.status_code == 200
    assert "未关闭 1 个，逾期 0 个" in text_of(listing) and "上海一店" in text_of(listing)
    page = client.get(f"/cases/{case.id}")
    assert "<b>太慢</b>" in text_of(page)  # shown as text, not as markup
    assert "&lt;b&gt;太慢&lt;/b&gt;" in page.get_data(as_text=True)
    token = csrf_of(page)

    noted = client.post(f"/cases/{case.id}/contact", data={"csrf_token": token,
                                                           "note": "已致电，顾客同意明天回店复检"})
    assert noted.status_code == 303
    assert "已致电" in text_of(client.get(noted.headers["Location"]))
    empty = client.post(f"/cases/{case.id}/close", data={"csrf_token": token, "resolution": " "})
    assert empty.status_code == 400 and "请填写处理情况" in text_of(empty)
    closed = client.post(f"/cases/{case.id}/close",
                         data={"csrf_token": token, "resolution": "免费复检，顾客满意"})
    assert closed.status_code == 303
    (stored,) = the_cases(app)
    assert stored.status == "closed" and stored.resolution == "免费复检，顾客满意"
    assert stored.contacted_at is not None and stored.closed_by is not None
    again = client.post(f"/cases/{case.id}/close", data={"csrf_token": token, "resolution": "x"})
    assert again.status_code == 409
    assert "没有未关闭的工单" in text_of(client.get("/cases/"))
    assert "免费复检" not in text_of(client.get("/cases/?status=closed"))  # list shows no notes
    assert f"#{case.id}" in text_of(client.get("/cases/?status=closed"))


def test_an_overdue_case_is_flagged(client, app, auth):
    case = open_case(app, app.test_client(), nps="1")
    with app.app_context(), new_session() as session:
        row = session.get(FollowUpCase, case.id)
        row.due_at = row.opened_at - timedelta(hours=1)
        session.add(row)
        session.commit()
    auth.as_role("admin")
    listing = client.get("/cases/")
    assert "逾期 1 个" in text_of(listing)
    assert BeautifulSoup(listing.get_data(as_text=True), "html.parser").select("tr.overdue")


def test_a_case_of_an_answer_marked_invalid_counts_nowhere(client, app, auth):
    case = open_case(app, app.test_client(), nps="0")
    with app.app_context(), new_session() as session:
        response_id = session.exec(select(Response.id)).one()
    auth.as_role("admin")
    page = client.get("/qr/responses")
    marked = client.post(f"/qr/responses/{response_id}/invalid",
                         data={"csrf_token": csrf_of(page)})
    assert marked.status_code == 303
    assert "没有未关闭的工单" in text_of(client.get("/cases/"))
    assert client.get(f"/cases/{case.id}").status_code == 404


@pytest.mark.parametrize(("role", "store", "status"), [
    ("admin", "E1", 200), ("manager", "E1", 200), ("manager_west", "E1", 404),
    ("store_manager", "E1", 404), ("store_manager", "W1", 200), ("manager_west", "W1", 200),
    ("reviewer", "E1", 403), ("shopper", "E1", 403),
])
def test_who_may_see_a_case(client, app, auth, role, store, status):
    case = open_case(app, app.test_client(), store=store, nps="4")
    auth.as_role(role)
    assert client.get(f"/cases/{case.id}").status_code == status
    listing = client.get("/cases/")
    assert listing.status_code == (403 if status == 403 else 200)
    if status != 403:
        assert (f"#{case.id}" in text_of(listing)) == (status == 200)


@pytest.mark.parametrize("role", ["manager_west", "reviewer", "shopper"])
def test_a_case_outside_scope_cannot_be_closed(client, app, auth, role):
    case = open_case(app, app.test_client(), nps="4")
    auth.as_role(role)
    token = csrf_of(client.get("/login"))
    result = client.post(f"/cases/{case.id}/close", data={"csrf_token": token, "resolution": "x"})
    assert result.status_code in (403, 404)
    assert the_cases(app)[0].status == "open"


def test_logged_out_users_are_sent_to_login(client, app):
    assert client.get("/cases/").status_code == 302


@pytest.mark.parametrize(("zone", "shift"), [("Asia/Shanghai", 8), ("Europe/London", 0)])
def test_case_times_are_shown_on_the_stores_clock(client, app, auth, zone, shift):
    from datetime import UTC, datetime

    # the surveys were published today on the default (Shanghai) clock; west of it, that day
    # has not begun on a real clock in the evening (UTC), so the clock is pinned to a day on
    # which the published version is in use wherever the stores are
    with app.app_context():
        tomorrow = clock.today() + timedelta(days=1)
    app.config["TIME_ZONE"] = zone
    app.config["NOW"] = f"{tomorrow.isoformat()}T12:00:00"
    case = open_case(app, client, nps="3")
    with app.app_context(), new_session() as session:
        stored = session.get(FollowUpCase, case.id)
        stored.due_at = datetime(2026, 1, 15, 20, 30, tzinfo=UTC)
        session.add(stored)
        session.commit()
    auth.as_role("manager")
    expected = f"2026-01-{15 + (20 + shift) // 24:02d} {(20 + shift) % 24:02d}:30"
    assert expected in text_of(client.get("/cases/"))
    assert expected in text_of(client.get(f"/cases/{case.id}"))
