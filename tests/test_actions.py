"""Corrective actions: a red line in an approved report opens one for the store; the store's
manager plans and fixes it with photo evidence; the region's manager verifies or reopens;
later scores say whether it worked. Scope is checked on every route."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app import actions
from app.db import new_session
from app.domain import loop
from app.domain.ranking import Stats
from app.models import ActionEvent, CorrectiveAction, Store, User
from tests.loop_helpers import RED_LINE, add_report, approve, png, token
from tests.test_dashboard import text_of


def settings(app) -> actions.Settings:
    return actions.Settings.of(app.config)


def all_actions(app) -> list[CorrectiveAction]:
    with app.app_context(), new_session() as session:
        return list(session.exec(select(CorrectiveAction).order_by(CorrectiveAction.id)))


@pytest.fixture
def red_line(app, client, auth):
    """An approved W1 report that failed the greeting red line: the action it opened."""
    response_id = add_report(app, answers=RED_LINE)
    assert approve(client, auth, response_id).status_code == 303
    client.post("/logout", data={"csrf_token": token(client, "/review/")})
    found = all_actions(app)
    assert len(found) == 1
    return found[0]


def test_an_approved_red_line_failure_opens_one_action_for_the_store(app, red_line):
    with app.app_context(), new_session() as session:
        owner = session.get(User, red_line.owner_id)
        store = session.get(Store, red_line.store_id)
    assert (store.code, red_line.touchpoint_id, red_line.item_id) == ("W1", "greeting", "greeted")
    assert red_line.trigger == "red_line" and red_line.status == "open"
    assert owner.username == "store_manager"  # the store's own manager owns it
    due = red_line.due_at.replace(tzinfo=UTC) - red_line.opened_at.replace(tzinfo=UTC)
    assert due == timedelta(days=14)


def test_the_action_names_the_failed_item_in_words(client, auth, red_line):
    auth.as_role("manager_west")
    page = text_of(client.get(f"/actions/{red_line.id}"))
    assert "30秒内有人问候" in page and "greeted" not in page


def test_the_red_line_trigger_is_idempotent(app, red_line):
    with app.app_context(), new_session() as session:
        from app.models import Response

        response = session.get(Response, red_line.response_id)
        assert actions.open_for_red_lines(session, settings=settings(app), response=response) == []
        session.commit()
    assert len(all_actions(app)) == 1


def test_a_clean_report_opens_nothing(app, client, auth):
    assert approve(client, auth, add_report(app)).status_code == 303
    assert all_actions(app) == []


def test_the_due_date_follows_the_configured_days_per_trigger(app, client, auth):
    app.config["ACTION_DUE_DAYS"] = {"red_line": 3}
    approve(client, auth, add_report(app, answers=RED_LINE))
    (action,) = all_actions(app)
    assert (action.due_at - action.opened_at) == timedelta(days=3)


def _post(client, path, data, page=None, **kwargs):
    return client.post(path, data={"csrf_token": token(client, page or path.rsplit("/", 1)[0]),
                                   **data}, **kwargs)


PLAN = {"root_cause": "training", "why1": "新员工没有培训", "why2": "培训计划缺失",
        "plan": "本周完成接待礼仪培训，店总抽查"}


def test_the_whole_loop_plan_evidence_verify(app, client, auth, red_line):
    aid = red_line.id
    auth.as_role("store_manager")
    mine = text_of(client.get("/actions/?mine=1"))
    assert "成都一店" in mine and "进店问候" in mine
    assert _post(client, f"/actions/{aid}/plan", PLAN, page=f"/actions/{aid}").status_code == 303
    # done without evidence is refused, nothing changes
    refused = _post(client, f"/actions/{aid}/done", {"note": "完成"}, page=f"/actions/{aid}")
    assert refused.status_code == 400 and "照片" in text_of(refused)
    added = _post(client, f"/actions/{aid}/photos",
                  {"photo": (io.BytesIO(png()), "fix.png")}, page=f"/actions/{aid}",
                  content_type="multipart/form-data")
    assert added.status_code == 303
    assert _post(client, f"/actions/{aid}/done", {"note": "已培训"},
                 page=f"/actions/{aid}").status_code == 303
    # the store's own manager cannot verify its own fix
    assert _post(client, f"/actions/{aid}/verify", {"decision": "verify"},
                 page=f"/actions/{aid}").status_code == 403
    auth.as_role("manager_west")
    page = client.get(f"/actions/{aid}")
    assert "新员工没有培训" in text_of(page) and "/photos/" in page.get_data(as_text=True)
    photo = page.get_data(as_text=True).split(f'/actions/{aid}/photos/')[1].split('"')[0]
    assert client.get(f"/actions/{aid}/photos/{photo}").status_code == 200
    assert _post(client, f"/actions/{aid}/verify", {"decision": "verify", "note": "现场确认"},
                 page=f"/actions/{aid}").status_code == 303
    with app.app_context(), new_session() as session:
        events = session.exec(select(ActionEvent.event, ActionEvent.status).where(
            ActionEvent.action_id == aid).order_by(ActionEvent.id)).all()
    assert [tuple(e) for e in events] == [
        ("opened", "open"), ("plan", "plan_submitted"), ("photo", "plan_submitted"),
        ("done", "done"), ("verify", "verified")]
    history = text_of(client.get(f"/actions/{aid}"))
    assert "现场确认" in history and "已验证" in history


def test_reopening_needs_a_reason_and_sends_it_back(app, client, auth, red_line):
    with app.app_context(), new_session() as session:
        action = session.get(CorrectiveAction, red_line.id)
        user = session.exec(select(User).where(User.username == "store_manager")).one()
        actions.submit_plan(session, action, user, settings=settings(app), root_cause="process",
                            whys=["a"], plan="b")
        from app.models import ActionPhoto, Photo

        session.add(Photo(sha256="a" * 64, mime="image/png", size=1, width=1, height=1))
        session.flush()
        session.add(ActionPhoto(action_id=action.id, sha256="a" * 64))
        session.commit()
        actions.mark_done(session, action, user, "")
    auth.as_role("manager_west")
    empty = _post(client, f"/actions/{red_line.id}/verify", {"decision": "reopen"},
                  page=f"/actions/{red_line.id}")
    assert empty.status_code == 400
    assert _post(client, f"/actions/{red_line.id}/verify",
                 {"decision": "reopen", "note": "照片看不清"},
                 page=f"/actions/{red_line.id}").status_code == 303
    assert all_actions(app)[0].status == "reopened"


@pytest.mark.parametrize("data, message", [
    ({**PLAN, "root_cause": "weather"}, "根本原因"),
    ({**PLAN, "plan": ""}, "计划"),
])
def test_a_bad_plan_says_why_and_stores_nothing(app, client, auth, red_line, data, message):
    auth.as_role("store_manager")
    refused = _post(client, f"/actions/{red_line.id}/plan", data, page=f"/actions/{red_line.id}")
    assert refused.status_code == 400 and message in text_of(refused)
    assert all_actions(app)[0].status == "open"


def test_opening_by_hand_from_a_drill_down_link(app, client, auth):
    response_id = add_report(app, store="E1", status="approved")
    auth.as_role("manager")
    form = client.get(f"/actions/new?store=E1&tp=greeting&item=greeted&response={response_id}")
    assert form.status_code == 200
    made = _post(client, "/actions/", {"store": "E1", "touchpoint": "greeting",
                                       "item_id": "greeted", "response_id": str(response_id),
                                       "note": "<b>未问候</b>"}, page="/actions/new")
    assert made.status_code == 303
    (action,) = all_actions(app)
    assert (action.trigger, action.response_id, action.opened_by is not None) == (
        "manual", response_id, True)
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "&lt;b&gt;未问候" in page  # free text escaped


def test_opening_for_another_regions_store_is_refused(app, client, auth):
    auth.as_role("manager")
    refused = _post(client, "/actions/", {"store": "W1", "touchpoint": "greeting",
                                          "note": "x"}, page="/actions/new")
    assert refused.status_code == 404
    assert all_actions(app) == []


def test_an_empty_note_is_refused(app, client, auth):
    auth.as_role("manager")
    refused = _post(client, "/actions/", {"store": "E1", "touchpoint": "greeting", "note": ""},
                    page="/actions/new")
    assert refused.status_code == 400 and all_actions(app) == []


ROUTES = ["/actions/", "/actions/?mine=1", "/actions/?status=closed", "/actions/new",
          "/actions/{id}"]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("manager_west", 200), ("store_manager", 200), ("manager", 200),
    ("reviewer", 403), ("shopper", 403),
])
def test_who_may_open_the_pages(client, auth, red_line, path, role, status):
    auth.as_role(role)
    expected = 404 if role == "manager" and "{id}" in path else status  # W1 is not east's
    page = client.get(path.format(id=red_line.id))
    assert page.status_code == expected
    if role == "manager":
        assert "成都一店" not in page.get_data(as_text=True)


@pytest.mark.parametrize("step", ["plan", "done", "verify", "photos"])
@pytest.mark.parametrize("role, status", [("manager", 404), ("reviewer", 403), ("shopper", 403)])
def test_other_scopes_cannot_change_an_action(app, client, auth, red_line, step, role, status):
    auth.as_role(role)
    changed = client.post(f"/actions/{red_line.id}/{step}",
                          data={"csrf_token": token(client, "/login"), **PLAN})
    assert changed.status_code == status
    assert all_actions(app)[0].status == "open"


def test_anonymous_is_sent_to_login(app, red_line):
    for path in ("/actions/", f"/actions/{red_line.id}"):
        assert app.test_client().get(path).status_code == 302


def test_without_csrf_nothing_changes(app, client, auth, red_line):
    auth.as_role("store_manager")
    assert client.post(f"/actions/{red_line.id}/plan", data=PLAN).status_code == 400
    assert all_actions(app)[0].status == "open"


def test_counts_per_region_sit_beside_the_short_board(client, auth, red_line):
    auth.as_role("manager_west")
    board = client.get("/manager/")
    assert board.status_code == 200
    counts = BeautifulSoup(board.get_data(as_text=True), "html.parser").select_one(
        "#action-counts").get_text(" ", strip=True)
    assert "西区 1 0 0 0" in counts and "华东区" not in counts


# ---- effect ------------------------------------------------------------------------------


@pytest.mark.parametrize("before, after, verdict", [
    ([40, 45, 50, 42], [90, 95, 92, 94], loop.IMPROVED),
    ([40, 45, 50, 42], [50, 40, 45, 60], loop.NOT_YET),
    ([40], [90, 95], loop.NOT_ENOUGH),
    ([40, 45], [], loop.NOT_ENOUGH),
])
def test_effect_verdict(before, after, verdict):
    assert loop.effect(Stats.of(before), Stats.of(after)).verdict == verdict


def _done_long_ago(app, action_id, *, days_ago: int):
    with app.app_context(), new_session() as session:
        action = session.get(CorrectiveAction, action_id)
        action.opened_at = datetime.now(UTC) - timedelta(days=days_ago + 10)
        action.done_at = datetime.now(UTC) - timedelta(days=days_ago)
        action.status = "verified"
        session.add(action)
        session.commit()


def test_an_improved_touchpoint_shows_on_the_closed_action(app, client, auth, red_line):
    _done_long_ago(app, red_line.id, days_ago=40)
    opened = date.today() - timedelta(days=50)
    for offset in range(1, 4):  # before: failed greetings; after: good ones
        add_report(app, answers=RED_LINE, status="approved", day=opened - timedelta(days=offset))
        add_report(app, status="approved", day=date.today() - timedelta(days=offset * 5))
    add_report(app, answers={**RED_LINE, "greeted": "yes", "card_given": "no"},
               status="approved", day=date.today() - timedelta(days=2))
    auth.as_role("manager_west")
    effect = text_of(client.get(f"/actions/{red_line.id}")).split("效果")[1]
    assert "已改善" in effect


def test_an_action_without_improvement_is_flagged_on_the_board(app, client, auth, red_line):
    _done_long_ago(app, red_line.id, days_ago=70)
    for offset in (1, 2, 3):
        add_report(app, answers=RED_LINE, status="approved",
                   day=date.today() - timedelta(days=80 + offset))
        add_report(app, answers=RED_LINE, status="approved",
                   day=date.today() - timedelta(days=offset * 10))
    auth.as_role("manager_west")
    board = text_of(client.get("/manager/"))
    assert "尚无改善的措施" in board and "尚未改善" in board
    auth.as_role("manager")
    assert "尚无改善的措施" not in text_of(client.get("/manager/"))  # another region's


def test_the_flag_waits_for_the_configured_number_of_months(app, client, auth, red_line):
    app.config["ACTION_NOT_YET_MONTHS"] = 3  # done 70 days ago: not three months yet
    _done_long_ago(app, red_line.id, days_ago=70)
    for offset in (1, 2, 3):
        add_report(app, answers=RED_LINE, status="approved",
                   day=date.today() - timedelta(days=80 + offset))
        add_report(app, answers=RED_LINE, status="approved",
                   day=date.today() - timedelta(days=offset * 10))
    auth.as_role("manager_west")
    assert "尚无改善的措施" not in text_of(client.get("/manager/"))


@pytest.mark.parametrize("months, verdict", [(2, "已改善"), (1, "数据尚不足")])
def test_the_effect_compares_the_configured_whole_months(app, client, auth, red_line, months,
                                                         verdict):
    """Failed visits six weeks before the action count in a two-month window, not in one."""
    app.config["ACTION_EFFECT_MONTHS"] = months
    _done_long_ago(app, red_line.id, days_ago=40)
    opened = date.today() - timedelta(days=50)
    for offset in range(1, 4):
        add_report(app, answers=RED_LINE, status="approved",
                   day=opened - timedelta(days=42 + offset))
        add_report(app, status="approved", day=date.today() - timedelta(days=offset * 5))
    add_report(app, answers={**RED_LINE, "greeted": "yes", "card_given": "no"},
               status="approved", day=date.today() - timedelta(days=2))
    auth.as_role("manager_west")
    effect = text_of(client.get(f"/actions/{red_line.id}")).split("效果")[1]
    assert verdict in effect
    start = loop.add_months(opened, -months).isoformat()
    assert f"{start} – {opened.isoformat()}" in effect


# ---- below target two months running ------------------------------------------------------


def _low_months(app, store="W1", months=2, per_month=4):
    today = date.today().replace(day=15)
    for m in range(months):
        day = (today.replace(day=1) - timedelta(days=1)).replace(day=15) if m else today
        for i in range(per_month):
            add_report(app, store=store, status="approved", day=day - timedelta(days=i),
                       answers={**RED_LINE, "greeted": "yes", "card_given": "no",
                                "drinks": "no"})
    return today


def test_two_months_clearly_below_target_open_one_action_once(app):
    month = _low_months(app)
    with app.app_context(), new_session() as session:
        opened = actions.open_for_targets(session, settings=settings(app), month=month)
        session.commit()
        assert [(a.touchpoint_id, a.trigger) for a in opened] == [("greeting", "below_target")]
        again = actions.open_for_targets(session, settings=settings(app), month=month)
        later = actions.open_for_targets(session, settings=settings(app),
                                         month=month + timedelta(days=31))
        session.commit()
    assert again == [] and later == []
    assert len(all_actions(app)) == 1


def test_one_low_month_or_too_little_data_opens_nothing(app):
    month = _low_months(app, months=1)
    _low_months(app, store="W2", per_month=1)
    with app.app_context(), new_session() as session:
        assert actions.open_for_targets(session, settings=settings(app), month=month) == []


def test_a_store_target_above_the_scores_counts_as_below(app):
    from app.models import TouchpointTarget

    month = _low_months(app)
    with app.app_context(), new_session() as session:
        w1 = session.exec(select(Store).where(Store.code == "W1")).one()
        session.add(TouchpointTarget(touchpoint_id="greeting", store_id=w1.id, target=10))
        session.commit()
        assert actions.open_for_targets(session, settings=settings(app), month=month) == []


# ---- notices -------------------------------------------------------------------------------


def test_notices_tell_the_store_what_needs_attention(app, client, auth, red_line):
    auth.as_role("store_manager")
    seen = text_of(client.get("/actions/notices"))
    assert "新整改措施" in seen and "红线未通过" in seen and "成都一店" in seen
    assert "逾期" not in seen and "2天内到期" not in seen
    with app.app_context(), new_session() as session:
        action = session.get(CorrectiveAction, red_line.id)
        action.due_at = datetime.now(UTC) + timedelta(days=1)
        session.add(action)
        session.commit()
    assert "2天内到期" in text_of(client.get("/actions/notices"))
    with app.app_context(), new_session() as session:
        action = session.get(CorrectiveAction, red_line.id)
        action.due_at = datetime.now(UTC) - timedelta(days=1)
        session.add(action)
        session.commit()
    overdue = BeautifulSoup(client.get("/actions/notices").get_data(as_text=True),
                            "html.parser").select("#notices li")
    assert "逾期" in overdue[0].get_text()  # the most urgent first


@pytest.mark.parametrize("role, status, sees", [
    ("store_manager", 200, True), ("manager_west", 200, True), ("admin", 200, True),
    ("manager", 200, False), ("reviewer", 403, False), ("shopper", 403, False),
])
def test_notices_stay_in_scope(client, auth, red_line, role, status, sees):
    auth.as_role(role)
    page = client.get("/actions/notices")
    assert page.status_code == status
    assert ("成都一店" in page.get_data(as_text=True)) is sees


def test_the_below_target_check_runs_from_the_command_line(app):
    month = _low_months(app)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["actions", "check", "--month", month.strftime("%Y-%m")])
    again = runner.invoke(args=["actions", "check", "--month", month.strftime("%Y-%m")])
    assert (first.exit_code, first.output) == (0, "actions opened: 1\n")
    assert again.output == "actions opened: 0\n"
    assert runner.invoke(args=["actions", "check", "--month", "2026-13"]).exit_code == 1
