"""The shopper's write paths: autosave, exactly-once submission, tampering, evidence, review."""

import io
import json
import uuid
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from sqlmodel import func, select

from app.db import new_session
from app.models import Answer, Response, TouchpointScore
from tests.conftest import csrf_token
from tests.factories import assign_test_checklist

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def assignment_id(app):
    """The test checklist assigned to `shopper` for store E1."""
    with app.app_context(), new_session() as session:
        return assign_test_checklist(session)


@pytest.fixture
def shopper(client, auth, assignment_id):
    auth.as_role("shopper")
    page = client.get(f"/shopper/a/{assignment_id}").get_data(as_text=True)
    return {"token": csrf_token(page), "uuid": str(uuid.uuid4()), "id": assignment_id}


COMPLETE = {"item_greeted": "yes", "item_card_given": "no", "item_drinks": "na",
            "item_test_drive_offered": "yes", "item_licence_checked": "yes",
            "item_route_rating": "4"}


def post(client, s, path, data, json_reply=True):
    headers = {"Accept": "application/json"} if json_reply else {}
    return client.post(f"/shopper/a/{s['id']}{path}",
                       data={"csrf_token": s["token"], "uuid": s["uuid"], **data}, headers=headers)


def counts(app):
    with app.app_context(), new_session() as session:
        return (session.exec(select(func.count()).select_from(Response)).one(),
                session.exec(select(func.count()).select_from(Answer)).one(),
                session.exec(select(func.count()).select_from(TouchpointScore)).one())


def the_response(app):
    with app.app_context(), new_session() as session:
        return session.exec(select(Response)).one()


def test_home_lists_the_assignment(client, shopper):
    page = client.get("/shopper/").get_data(as_text=True)
    assert "上海一店" in page and "测试暗访" in page and "待完成" in page


def test_checklist_groups_items_by_touchpoint_with_help(client, shopper):
    page = client.get(f"/shopper/a/{shopper['id']}").get_data(as_text=True)
    assert "进店问候/接待" in page or "greeting" in page
    assert "30秒内有人问候" in page and "从进门开始计时" in page
    assert 'name="item_greeted"' in page and 'value="na"' in page  # N/A only where allowed
    assert page.count('value="na"') == 1


def test_autosave_stores_a_draft_and_replaces_it(app, client, shopper):
    first = post(client, shopper, "/save", {"item_greeted": "yes"})
    assert first.status_code == 200 and "已保存" in first.get_data(as_text=True)
    second = post(client, shopper, "/save", {"item_greeted": "yes", "item_card_given": "yes"})
    assert second.status_code == 200
    assert counts(app)[:2] == (1, 2)
    response = the_response(app)
    assert response.status == "draft" and response.uuid == shopper["uuid"]


def test_submission_needs_every_shown_required_answer(app, client, shopper):
    reply = post(client, shopper, "", {"item_greeted": "no"})
    assert reply.status_code == 422
    errors = reply.get_json()["errors"]
    assert "drinks" in errors and "test_drive_offered" in errors
    assert "card_given" not in errors  # hidden by greeted == no
    assert counts(app)[0] == 0


def test_submission_is_stored_once_and_replayed(app, client, shopper):
    reply = post(client, shopper, "", COMPLETE)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    body = reply.get_json()
    assert body["status"] == "submitted" and body["replay"] is False
    assert body["overall"] == pytest.approx((2 * 50 + 1 * 100 * 2.75 / 3) / 3)
    before = counts(app)
    again = post(client, shopper, "", {**COMPLETE, "item_greeted": "no"})
    assert again.status_code == 200 and again.get_json()["replay"] is True
    assert again.get_json()["overall"] == body["overall"]  # the stored result, unchanged
    assert counts(app) == before
    with app.app_context(), new_session() as session:
        assert not any(session.exec(select(TouchpointScore.counted)))  # not approved yet


def test_plain_form_post_without_script_works_too(app, client, shopper):
    reply = post(client, shopper, "", COMPLETE, json_reply=False)
    assert reply.status_code == 303
    assert "已提交" in client.get(reply.headers["Location"]).get_data(as_text=True)


def test_plain_form_post_shows_inline_messages(client, shopper):
    reply = post(client, shopper, "", {"item_greeted": "yes"}, json_reply=False)
    assert reply.status_code == 422
    assert "此项为必答" in reply.get_data(as_text=True)


@pytest.mark.parametrize(("data", "status"), [
    ({"item_not_in_instrument": "yes"}, 400),
    ({"item_greeted": "maybe"}, 400),
    ({"item_route_rating": "9", "item_test_drive_offered": "yes"}, 400),
    ({"item_greeted": "na"}, 400),
    ({"evidence_drinks": "0" * 64}, 400),
    ({"evidence_greeted": "0" * 64}, 400),
])
def test_tampered_saves_change_nothing(app, client, shopper, data, status):
    assert post(client, shopper, "/save", data).status_code == status
    assert post(client, shopper, "", {**COMPLETE, **data}).status_code in (400, 422)
    assert counts(app) == (0, 0, 0)


def test_bad_uuid_or_missing_csrf_is_refused(app, client, shopper):
    reply = client.post(f"/shopper/a/{shopper['id']}", data={
        "csrf_token": shopper["token"], "uuid": "not-a-uuid", **COMPLETE})
    assert reply.status_code == 400
    reply = client.post(f"/shopper/a/{shopper['id']}/save", data={"uuid": shopper["uuid"], **COMPLETE})
    assert reply.status_code == 400
    assert counts(app) == (0, 0, 0)


def test_another_shoppers_assignment_is_not_found(app, client, auth, assignment_id):
    auth.as_role("shopper2")
    assert client.get(f"/shopper/a/{assignment_id}").status_code == 404
    token = csrf_token(client.get("/shopper/").get_data(as_text=True))
    reply = client.post(f"/shopper/a/{assignment_id}", data={
        "csrf_token": token, "uuid": str(uuid.uuid4()), **COMPLETE})
    assert reply.status_code == 404
    assert counts(app) == (0, 0, 0)


def _jpeg(size=(2000, 1200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_photo_upload_is_checked_and_stored_by_hash(app, client, shopper):
    upload = client.post("/shopper/photos", data={"photo": (io.BytesIO(_jpeg((1600, 900))), "a.jpg")},
                         headers={"X-CSRFToken": shopper["token"]})
    assert upload.status_code == 201
    sha = upload.get_json()["sha256"]
    again = client.post("/shopper/photos", data={"photo": (io.BytesIO(_jpeg((1600, 900))), "b.jpg")},
                        headers={"X-CSRFToken": shopper["token"]})
    assert again.get_json()["sha256"] == sha
    thumb = client.get(f"/review/photos/{sha}?thumb=1")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320
    reply = post(client, shopper, "", {**COMPLETE, "item_showroom_photo": sha, "evidence_drinks": sha})
    assert reply.status_code == 200


@pytest.mark.parametrize(("payload", "status"), [
    (b"GIF89a not really", 415),
    (b"%PDF-1.4 hello", 415),
    (b"\xff\xd8\xff" + b"0" * 100, 415),
])
def test_non_images_are_refused(client, shopper, payload, status):
    reply = client.post("/shopper/photos", data={"photo": (io.BytesIO(payload), "x.jpg")},
                        headers={"X-CSRFToken": shopper["token"]})
    assert reply.status_code == status and reply.get_json()["message"]


def test_oversized_photo_is_refused(app, client, shopper):
    app.config["PHOTO_MAX_BYTES"] = 1000
    reply = client.post("/shopper/photos", data={"photo": (io.BytesIO(_jpeg()), "x.jpg")},
                        headers={"X-CSRFToken": shopper["token"]})
    assert reply.status_code == 413


def test_upload_without_csrf_is_refused(client, shopper):
    reply = client.post("/shopper/photos", data={"photo": (io.BytesIO(_jpeg()), "x.jpg")})
    assert reply.status_code == 400


def test_other_shoppers_cannot_see_a_photo(client, auth, shopper):
    upload = client.post("/shopper/photos", data={"photo": (io.BytesIO(_jpeg((800, 600))), "a.jpg")},
                         headers={"X-CSRFToken": shopper["token"]})
    sha = upload.get_json()["sha256"]
    auth.as_role("shopper2")
    assert client.get(f"/review/photos/{sha}").status_code == 404


def _review(client, auth, action, comment=""):
    auth.as_role("reviewer")
    queue = client.get("/review/").get_data(as_text=True)
    assert "上海一店" in queue
    import re

    response_id = re.search(r"/review/r/(\d+)", queue).group(1)
    page = client.get(f"/review/r/{response_id}").get_data(as_text=True)
    return response_id, client.post(f"/review/r/{response_id}/decide", data={
        "csrf_token": csrf_token(page), "action": action, "comment": comment})


def test_approval_makes_the_report_count_and_final(app, client, auth, shopper):
    post(client, shopper, "", COMPLETE)
    response_id, decided = _review(client, auth, "approve")
    assert decided.status_code == 303
    with app.app_context(), new_session() as session:
        assert all(session.exec(select(TouchpointScore.counted)))
    page = client.get(f"/review/r/{response_id}").get_data(as_text=True)
    again = client.post(f"/review/r/{response_id}/decide", data={
        "csrf_token": csrf_token(page), "action": "return", "comment": "x"})
    assert again.status_code == 409
    # the shopper can no longer change it (a new login: a new CSRF token)
    auth.as_role("shopper")
    shopper = {**shopper, "token": csrf_token(client.get("/shopper/").get_data(as_text=True))}
    assert post(client, shopper, "/save", COMPLETE).status_code == 409
    assert post(client, {**shopper, "uuid": str(uuid.uuid4())}, "", COMPLETE).status_code == 409
    assert the_response(app).status == "approved"


def test_returned_report_goes_back_and_can_be_resubmitted(app, client, auth, shopper):
    post(client, shopper, "", COMPLETE)
    _id, decided = _review(client, auth, "return", "请补充试驾路线评分的说明 <b>")
    assert decided.status_code == 303
    auth.as_role("shopper")
    home = client.get("/shopper/").get_data(as_text=True)
    assert "退回修改" in home and "&lt;b&gt;" in home and "<b>" not in home
    page = client.get(f"/shopper/a/{shopper['id']}").get_data(as_text=True)
    assert shopper["uuid"] in page  # same report, same UUID
    shopper = {**shopper, "token": csrf_token(page)}  # a new login: a new CSRF token
    reply = post(client, shopper, "", {**COMPLETE, "item_route_rating": "5"})
    assert reply.status_code == 200 and reply.get_json()["status"] == "submitted"
    assert counts(app)[0] == 1


def test_returning_needs_a_comment(client, auth, shopper):
    post(client, shopper, "", COMPLETE)
    _id, decided = _review(client, auth, "return", "")
    assert decided.status_code == 422  # said next to the comment box, nothing decided
    page = BeautifulSoup(decided.get_data(as_text=True), "html.parser")
    assert "退回报告时请说明" in page.select_one("#comment-error").get_text()
    assert page.select_one("#comment")["aria-invalid"] == "true"


ACCESS = [
    ("manager", "/review/r/1", 403), ("shopper", "/review/r/1", 403),
    ("reviewer", "/shopper/a/1", 403), ("manager", "/shopper/a/1", 403),
    ("admin", "/shopper/a/1", 403), ("shopper2", "/shopper/a/1", 404),
]


@pytest.mark.parametrize(("role", "path", "status"), ACCESS)
def test_access(client, auth, assignment_id, role, path, status):
    auth.as_role(role)
    assert client.get(path).status_code == status


def test_no_traceback_for_unknown_report(client, auth):
    auth.as_role("reviewer")
    reply = client.get("/review/r/999")
    assert reply.status_code == 404 and "Traceback" not in reply.get_data(as_text=True)


def test_json_payload_is_safe(client, shopper):
    page = client.get(f"/shopper/a/{shopper['id']}").get_data(as_text=True)
    payload = page.split('id="checklist-data">')[1].split("</script>")[0]
    data = json.loads(payload)
    assert data["conditions"]["card_given"] == {
        "cmp": "==", "left": {"var": "greeted"}, "right": {"lit": "yes"}}
