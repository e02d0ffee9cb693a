"""Visits that hold up: the visit day is the shopper's (it survives a return and a
resubmission in the next month), the times are checked, and one assignment has one report,
also when ten phones submit at once."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.db import new_session
from app.models import Assignment, Response, ResponseEvent, TouchpointScore
from tests.conftest import Auth, csrf_token
from tests.factories import assign_test_checklist
from tests.test_shopper import COMPLETE


@pytest.fixture
def assignment_id(app):
    """A window that began in the previous month and ends today."""
    today = date.today()
    with app.app_context(), new_session() as session:
        aid = assign_test_checklist(session)
        assignment = session.get(Assignment, aid)
        assignment.window_start = today.replace(day=1) - timedelta(days=5)
        assignment.window_end = today
        session.add(assignment)
        session.commit()
        return aid


def _submit(client, aid, uid, **extra):
    page = client.get(f"/shopper/a/{aid}").get_data(as_text=True)
    return client.post(f"/shopper/a/{aid}", headers={"Accept": "application/json"}, data={
        "csrf_token": csrf_token(page), "uuid": uid, **COMPLETE, **extra})


def _response(app, aid):
    with app.app_context(), new_session() as session:
        response = session.exec(select(Response).where(Response.assignment_id == aid)).one()
        days = set(session.exec(select(TouchpointScore.day).where(
            TouchpointScore.response_id == response.id)))
        events = [e.kind for e in session.exec(select(ResponseEvent).where(
            ResponseEvent.response_id == response.id).order_by(ResponseEvent.id))]
        return response, days, events


def test_visit_day_survives_a_return_across_a_month_boundary(client, auth, app, assignment_id):
    visit = date.today().replace(day=1) - timedelta(days=2)  # last month
    auth.as_role("shopper")
    uid = str(uuid.uuid4())
    first = _submit(client, assignment_id, uid, visit_date=visit.isoformat(),
                    visit_start="10:00", visit_end="11:05")
    assert first.status_code == 200, first.get_data(as_text=True)
    response, days, _ = _response(app, assignment_id)
    assert response.day == visit and days == {visit}

    auth.as_role("reviewer")
    page = client.get(f"/review/r/{response.id}").get_data(as_text=True)
    client.post(f"/review/r/{response.id}/decide", data={
        "csrf_token": csrf_token(page), "action": "return", "comment": "请补充试驾评分"})
    auth.as_role("shopper")
    again = _submit(client, assignment_id, uid, item_route_rating="5")  # corrected this month
    assert again.status_code == 200
    response, days, events = _response(app, assignment_id)
    assert response.status == "submitted"
    assert response.day == visit and days == {visit}  # still last month's visit
    assert events == ["created", "submitted", "returned", "resubmitted"]


@pytest.mark.parametrize("extra, field", [
    ({"visit_date": (date.today() + timedelta(days=1)).isoformat()}, "visit_date"),
    ({"visit_date": "2001-01-01"}, "visit_date"),
    ({"visit_start": "11:00", "visit_end": "10:30"}, "visit_end"),
])
def test_visit_date_and_times_are_checked(client, auth, app, assignment_id, extra, field):
    auth.as_role("shopper")
    reply = _submit(client, assignment_id, str(uuid.uuid4()), **extra)
    assert reply.status_code == 422
    assert field in reply.get_json()["errors"]
    with app.app_context(), new_session() as session:
        assert session.exec(select(Response)).all() == []


@pytest.mark.parametrize("times, status", [
    ({"visit_start": "08:10", "visit_end": "08:55"}, 200),
    ({"visit_start": "08:10", "visit_end": "09:04"}, 200),  # a phone clock a little ahead
    ({"visit_start": "08:10", "visit_end": "09:30"}, 422),  # leaving later than now
    ({"visit_start": "09:40", "visit_end": "10:30"}, 422),
])
def test_a_visit_today_cannot_end_later_than_now(client, auth, app, assignment_id, times, status):
    today = date.today()
    app.config["NOW"] = f"{today.isoformat()}T09:00"  # on the stores' clock
    auth.as_role("shopper")
    reply = _submit(client, assignment_id, str(uuid.uuid4()), visit_date=today.isoformat(), **times)
    assert reply.status_code == status
    if status == 422:
        assert "不能晚于现在" in reply.get_json()["errors"]["visit_time"]
        with app.app_context(), new_session() as session:
            assert session.exec(select(Response)).all() == []


def test_the_visit_form_asks_the_times_once_and_shows_a_refusal_beside_them(client, auth, app,
                                                                            assignment_id):
    from bs4 import BeautifulSoup

    auth.as_role("shopper")
    page = client.get(f"/shopper/a/{assignment_id}").get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    assert len(soup.select('input[type="time"]')) == 2  # the visit form's, no checklist item
    reply = client.post(f"/shopper/a/{assignment_id}", data={
        "csrf_token": csrf_token(page), "uuid": str(uuid.uuid4()), **COMPLETE,
        "visit_start": "11:00", "visit_end": "10:30"})
    assert reply.status_code == 422
    box = BeautifulSoup(reply.get_data(as_text=True), "html.parser").select_one("#visit-times")
    assert "离店时间必须晚于到店时间" in box.get_text()


def test_ten_phones_submitting_at_once_store_one_report(app, assignment_id):
    clients = []
    for _ in range(10):
        client = app.test_client()
        Auth(client).as_role("shopper")
        page = client.get(f"/shopper/a/{assignment_id}").get_data(as_text=True)
        clients.append((client, csrf_token(page)))
    start = threading.Barrier(10)
    statuses = []

    def send(client, token):
        start.wait()
        reply = client.post(f"/shopper/a/{assignment_id}", headers={
            "Accept": "application/json"}, data={"csrf_token": token,
                                                 "uuid": str(uuid.uuid4()), **COMPLETE})
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context(), new_session() as session:
        stored = session.exec(select(Response).where(
            Response.assignment_id == assignment_id)).all()
    assert len(stored) == 1
    assert sorted(statuses) == [200] + [409] * 9


def test_positions_are_optional_and_the_reviewer_sees_the_distance(client, auth, app,
                                                                  assignment_id):
    from app.models import Store

    with app.app_context(), new_session() as session:
        store = session.exec(select(Store).where(Store.code == "E1")).one()
        store.latitude, store.longitude = 31.2304, 121.4737
        session.add(store)
        session.commit()
    auth.as_role("shopper")
    reply = _submit(client, assignment_id, str(uuid.uuid4()), geo_start_lat="31.2304",
                    geo_start_lon="121.4837", geo_start_acc="12", geo_submit_lat="bogus",
                    geo_submit_lon="", geo_submit_acc="")
    assert reply.status_code == 200  # a missing or broken position never blocks
    response, _, _ = _response(app, assignment_id)
    assert (response.start_lat, response.submit_lat) == (31.2304, None)
    auth.as_role("reviewer")
    page = client.get(f"/review/r/{response.id}").get_data(as_text=True)
    assert "951" in page or "952" in page  # about 0.01 degree of longitude at Shanghai
    assert "离门店较远" in page or "far from the store" in page
