"""A report's history, as the reviewer and the shopper see it: every step with who and when,
marking it invalid (and counting it again) and a store's appeal (filed, decided) included,
and nothing written over an earlier comment."""

from __future__ import annotations

import uuid

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.models import Response, ResponseEvent, TouchpointScore, User
from tests.conftest import csrf_token
from tests.factories import assign_test_checklist
from tests.test_shopper import COMPLETE


@pytest.fixture
def report(app, client, auth):
    """A shopper's report on E1 (east: `manager` may appeal it), submitted and approved."""
    with app.app_context(), new_session() as session:
        aid = assign_test_checklist(session)
    auth.as_role("shopper")
    page = client.get(f"/shopper/a/{aid}").get_data(as_text=True)
    reply = client.post(f"/shopper/a/{aid}", headers={"Accept": "application/json"}, data={
        "csrf_token": csrf_token(page), "uuid": str(uuid.uuid4()), **COMPLETE,
        "item_greeted": "no"})
    assert reply.status_code == 200
    with app.app_context(), new_session() as session:
        rid = session.exec(select(Response.id).where(Response.assignment_id == aid)).one()
    _review(client, auth, rid, "decide", action="approve", comment="")
    return aid, rid


def _review(client, auth, rid, path, role="reviewer", **data):
    auth.as_role(role)
    page = client.get(f"/review/r/{rid}").get_data(as_text=True)
    return client.post(f"/review/r/{rid}/{path}", data={"csrf_token": csrf_token(page), **data})


def _events(app, rid):
    with app.app_context(), new_session() as session:
        return [(e.kind, session.get(User, e.actor_id).username if e.actor_id else None,
                 e.comment) for e in session.exec(select(ResponseEvent).where(
                     ResponseEvent.response_id == rid).order_by(ResponseEvent.id))]


def _counted(app, rid) -> set[bool]:
    with app.app_context(), new_session() as session:
        return set(session.exec(select(TouchpointScore.counted).where(
            TouchpointScore.response_id == rid)))


def _history(client, path) -> list[str]:
    page = BeautifulSoup(client.get(path).get_data(as_text=True), "html.parser")
    return [li.get_text(" ", strip=True) for li in page.select("#history .history-list > li")]


def test_marked_invalid_and_counted_again_are_in_the_history(client, auth, app, report):
    aid, rid = report
    refused = _review(client, auth, rid, "invalid", reason="  ")
    assert refused.status_code == 422 and "请说明报告无效的原因" in refused.get_data(as_text=True)
    assert _counted(app, rid) == {True}

    assert _review(client, auth, rid, "invalid", reason="定位距门店 30 公里").status_code == 303
    assert _counted(app, rid) == {False}  # counts nowhere
    assert _review(client, auth, rid, "invalid", reason="again").status_code == 409
    assert _review(client, auth, rid, "valid", role="admin").status_code == 303
    with app.app_context(), new_session() as session:
        assert session.get(Response, rid).status == "approved"  # as before the mark
    assert _counted(app, rid) == {True}
    assert [(k, who) for k, who, _ in _events(app, rid)][-2:] == [
        ("invalid", "reviewer"), ("valid", "admin")]

    auth.as_role("reviewer")
    seen = _history(client, f"/review/r/{rid}")
    assert [s.split(" · ")[1] for s in seen] == [
        "创建", "已提交", "已通过", "标记无效", "恢复计入"]
    assert "定位距门店 30 公里" in seen[3] and "reviewer" in seen[3] and "admin" in seen[4]
    auth.as_role("shopper")
    assert _history(client, f"/shopper/a/{aid}/report") == seen


@pytest.mark.parametrize("role, status", [("shopper", 403), ("manager", 403),
                                          ("reviewer", 303), ("admin", 303)])
def test_who_may_mark_a_report_invalid(client, auth, app, report, role, status):
    auth.as_role(role)
    page = client.get("/password").get_data(as_text=True)  # any page of theirs with a token
    reply = client.post(f"/review/r/{report[1]}/invalid", data={
        "csrf_token": csrf_token(page), "reason": "duplicate"})
    assert reply.status_code == status


def test_an_appeal_filed_and_decided_is_in_both_histories(client, auth, app, report):
    aid, rid = report
    auth.as_role("manager")
    page = client.get(f"/appeals/new/{rid}").get_data(as_text=True)
    filed = client.post(f"/appeals/new/{rid}", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "item": ["greeted"],
        "reason_greeted": "店员在门口已问候，见监控"})
    assert filed.status_code == 303
    appeal = filed.headers["Location"]
    auth.as_role("reviewer")
    page = client.get(appeal).get_data(as_text=True)
    client.post(appeal + "/decide", data={"csrf_token": csrf_token(page),
                                          "decision_greeted": "overturned",
                                          "note_greeted": "监控显示有问候"})
    assert [(k, who) for k, who, _ in _events(app, rid)][-2:] == [
        ("appealed", "manager"), ("appeal_decided", "reviewer")]

    seen = _history(client, f"/review/r/{rid}")
    assert "门店提出申诉" in seen[-2] and "manager" in seen[-2] and "见监控" in seen[-2]
    assert "申诉已裁定" in seen[-1] and "改判" in seen[-1] and "监控显示有问候" in seen[-1]
    auth.as_role("shopper")
    mine = _history(client, f"/shopper/a/{aid}/report")
    assert "门店提出申诉" in mine[-2] and "见监控" not in mine[-2]  # the store's reasons stay
    assert "改判" in mine[-1]                                       # with the reviewer


def test_returns_keep_every_comment(client, auth, app):
    with app.app_context(), new_session() as session:
        aid = assign_test_checklist(session)
    uid = str(uuid.uuid4())
    for comment in ("第一次：补充试驾", "第二次：照片不清楚"):
        auth.as_role("shopper")
        page = client.get(f"/shopper/a/{aid}").get_data(as_text=True)
        client.post(f"/shopper/a/{aid}", headers={"Accept": "application/json"}, data={
            "csrf_token": csrf_token(page), "uuid": uid, **COMPLETE})
        with app.app_context(), new_session() as session:
            rid = session.exec(select(Response.id).where(Response.assignment_id == aid)).one()
        _review(client, auth, rid, "decide", action="return", comment=comment)
    comments = [c for kind, _, c in _events(app, rid) if kind == "returned"]
    assert comments == ["第一次：补充试驾", "第二次：照片不清楚"]


def test_a_customer_answer_marked_invalid_keeps_who_and_when(client, auth, app):
    from tests.test_public import answer, token_for

    assert answer(app.test_client(), token_for(app)).status_code == 303
    with app.app_context(), new_session() as session:
        rid = session.exec(select(Response.id).where(Response.channel == "qr")).one()
    auth.as_role("admin")
    for state in ("invalid", "invalid", "valid"):  # a second click changes nothing
        token = csrf_token(client.get("/qr/responses").get_data(as_text=True))
        assert client.post(f"/qr/responses/{rid}/{state}",
                           data={"csrf_token": token}).status_code == 303
    assert [(k, who) for k, who, _ in _events(app, rid)] == [
        ("invalid", "admin"), ("valid", "admin")]
    with app.app_context(), new_session() as session:
        assert session.get(Response, rid).status == "submitted"
