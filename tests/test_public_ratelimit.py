"""Answers posted from one address are rate-limited (flask-limiter; storage from
RATELIMIT_STORAGE_URI, so several server processes can share it)."""

from __future__ import annotations

from tests.test_public import fields, happy_answers, qr_responses, text_of, token_for


def test_too_many_answers_from_one_address_get_a_friendly_429(app):
    app.config["QR_RATE_LIMIT"] = "3 per minute"
    token = token_for(app)
    statuses = []
    for _ in range(4):  # a fresh phone each time, so only the address is shared
        phone = app.test_client()
        form = fields(phone.get(f"/s/{token}").get_data(as_text=True)) | happy_answers()
        statuses.append(phone.post(f"/s/{token}", data=form))
    assert [r.status_code for r in statuses] == [303, 303, 303, 429]
    assert "此网络提交的回答过多" in text_of(statuses[-1])
    assert qr_responses(app) == 3

    other = app.test_client()
    form = fields(other.get(f"/s/{token}").get_data(as_text=True)) | happy_answers()
    elsewhere = other.post(f"/s/{token}", data=form, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert elsewhere.status_code == 303
    assert qr_responses(app) == 4


def test_reading_the_survey_is_not_limited_by_the_answer_limit(client, app):
    app.config["QR_RATE_LIMIT"] = "1 per minute"
    token = token_for(app)
    assert all(client.get(f"/s/{token}").status_code == 200 for _ in range(5))


def test_the_storage_comes_from_the_environment(monkeypatch, database_url):
    from app import create_app

    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    assert create_app({"DATABASE_URL": database_url}).config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_with_redis_down_answers_are_still_taken_and_limited_per_process(app):
    from app import create_app
    from tests.services import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    down = create_app({**app.config, "RATELIMIT_STORAGE_URI": dead, "QR_RATE_LIMIT": "2 per minute"})
    token = token_for(app)
    statuses = []
    for _ in range(3):
        phone = down.test_client()
        form = fields(phone.get(f"/s/{token}").get_data(as_text=True)) | happy_answers()
        statuses.append(phone.post(f"/s/{token}", data=form).status_code)
    assert statuses == [303, 303, 429]
    assert qr_responses(app) == 2
