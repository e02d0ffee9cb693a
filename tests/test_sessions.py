"""Sessions and secrets: no built-in key, sessions that end on logout, on a password change and
when idle, a new CSRF token at login, and one truth for every app process on the database."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import update
from sqlmodel import select

from app import create_app
from app.config import ConfigError, check_production, dev_secret_key, from_environment
from app.db import new_session
from app.models import User, UserSession, utcnow
from tests.conftest import PASSWORD, Auth, csrf_token

OLD_BUILT_IN_KEY = "dev-only-change-me"


def _copy_cookie(source, target) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def _logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_there_is_no_built_in_secret_key(monkeypatch, database_url):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert from_environment()["SECRET_KEY"] is None
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    assert app.config["SECRET_KEY"] != OLD_BUILT_IN_KEY
    assert len(app.config["SECRET_KEY"]) >= 32


def test_a_cookie_signed_with_the_old_built_in_key_gets_no_one_in(app):
    """The attack of finding 1: sign `_user_id=1` with the key read from the source."""
    forger = create_app({"TESTING": True, "SECRET_KEY": OLD_BUILT_IN_KEY,
                         "DATABASE_URL": "sqlite://"})
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    forged = serializer.dumps({"_user_id": "1", "_fresh": True})
    client = app.test_client()
    client.set_cookie("session", forged)
    assert client.get("/admin/").status_code == 302


def test_even_a_cookie_signed_with_the_real_key_needs_a_live_session(app):
    """A leaked key alone no longer logs anyone in: the session token must exist server-side."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    client = app.test_client()
    client.set_cookie("session", serializer.dumps({"_user_id": "1", "sid": "made-up"}))
    assert client.get("/admin/").status_code == 302


def test_the_development_key_is_random_made_once_and_private(tmp_path):
    first = dev_secret_key(tmp_path / "a")
    assert dev_secret_key(tmp_path / "a") == first  # logins survive a restart
    assert dev_secret_key(tmp_path / "b") != first
    mode = (tmp_path / "a" / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


@pytest.mark.parametrize("key", [None, "", "short", "x" * 31])
def test_production_refuses_to_start_without_a_long_secret_key(key):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"PRODUCTION": True, "SECRET_KEY": key, "DATABASE_URL": "sqlite://"})


def test_production_starts_with_a_long_secret_key():
    check_production({"SECRET_KEY": "k" * 32})
    app = create_app({"PRODUCTION": True, "SECRET_KEY": "k" * 40, "DATABASE_URL": "sqlite://"})
    assert app.config["SECRET_KEY"] == "k" * 40


def test_production_flag_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("PRODUCTION", "1")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": "sqlite://"})


def test_a_cookie_copied_before_logout_stops_working(app, client, auth):
    auth.as_role("admin")
    thief = app.test_client()
    _copy_cookie(client, thief)
    assert _logged_in(thief)
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _logged_in(client)
    assert not _logged_in(thief)


def test_the_csrf_token_changes_at_login(client, auth):
    before = csrf_token(client.get("/login").get_data(as_text=True))
    auth.as_role("admin")
    after = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert before != after


def test_the_language_choice_survives_login(client, auth):
    client.get("/lang/en")
    auth.as_role("admin")
    assert "Log out" in client.get("/admin/").get_data(as_text=True)


def _age_sessions(app, hours: float) -> None:
    with app.app_context(), new_session() as s:
        s.exec(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=hours)))
        s.commit()


def test_a_session_survives_a_long_shopping_visit(app, client, auth):
    auth.as_role("shopper")
    _age_sessions(app, 11)  # default idle limit is 12 hours: a whole day in the field
    assert client.get("/shopper/").status_code == 200


def test_an_idle_session_expires(app, client, auth):
    auth.as_role("shopper")
    _age_sessions(app, 13)
    response = client.get("/shopper/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with app.app_context(), new_session() as s:
        assert s.exec(select(UserSession)).all() == []


def test_the_idle_limit_is_configurable(app, client, auth):
    app.config["SESSION_IDLE_HOURS"] = 0.5
    auth.as_role("shopper")
    _age_sessions(app, 1)
    assert client.get("/shopper/").status_code == 302


def test_requests_keep_a_session_alive(app, client, auth):
    auth.as_role("admin")
    _age_sessions(app, 6)
    assert _logged_in(client)  # this request moves last_seen_at to now
    _age_sessions_by(app, 7)
    assert _logged_in(client)


def _age_sessions_by(app, hours: float) -> None:
    """Move every session's last request `hours` further back (from where it is now)."""
    with app.app_context(), new_session() as s:
        for row in s.exec(select(UserSession)):
            row.last_seen_at = row.last_seen_at - timedelta(hours=hours)
            s.add(row)
        s.commit()


def _change_password(client, current: str, new: str, confirm: str | None = None):
    page = client.get("/password")
    assert page.status_code == 200
    return client.post("/password", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "current": current, "new": new,
        "repeat": new if confirm is None else confirm})


def test_a_password_change_ends_every_other_session(app, client, auth):
    auth.as_role("admin")
    other_phone = app.test_client()
    Auth(other_phone).as_role("admin")
    thief = app.test_client()
    _copy_cookie(client, thief)
    response = _change_password(client, PASSWORD, "a much newer secret")
    assert response.status_code == 302
    assert _logged_in(client)  # the device that changed it stays in
    assert not _logged_in(other_phone) and not _logged_in(thief)
    fresh = Auth(app.test_client())
    assert fresh.login("admin", PASSWORD).status_code == 401
    assert fresh.login("admin", "a much newer secret").status_code == 302


@pytest.mark.parametrize(("current", "new", "confirm"), [
    ("wrong password", "a much newer secret", None),
    (PASSWORD, "short", None),
    (PASSWORD, "a much newer secret", "something else"),
])
def test_a_refused_password_change_changes_nothing(app, client, auth, current, new, confirm):
    auth.as_role("manager")
    thief = app.test_client()
    _copy_cookie(client, thief)
    response = _change_password(client, current, new, confirm)
    assert response.status_code == 400
    assert _logged_in_manager(thief)
    with app.app_context(), new_session() as s:
        user = s.exec(select(User).where(User.username == "manager")).one()
        from werkzeug.security import check_password_hash
        assert check_password_hash(user.password_hash, PASSWORD)


def _logged_in_manager(client) -> bool:
    return client.get("/manager/").status_code == 200


def test_password_page_needs_a_login(client):
    assert client.get("/password").status_code == 302


def test_a_deactivated_user_is_logged_out_at_once(app, client, auth):
    auth.as_role("reviewer")
    with app.app_context(), new_session() as s:
        user = s.exec(select(User).where(User.username == "reviewer")).one()
        user.active = False
        s.add(user)
        s.commit()
    assert client.get("/review/").status_code == 302


def test_a_logout_on_one_app_process_ends_the_session_on_another(app, client, auth):
    """Two app instances on one database (as two gunicorn servers would be)."""
    second = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"],
                         "SECRET_KEY": app.config["SECRET_KEY"]})
    try:
        auth.as_role("admin")
        elsewhere = second.test_client()
        _copy_cookie(client, elsewhere)
        assert _logged_in(elsewhere)  # a login made on one works on the other
        token = csrf_token(elsewhere.get("/admin/").get_data(as_text=True))
        assert elsewhere.post("/logout", data={"csrf_token": token}).status_code == 302
        assert not _logged_in(client)
    finally:
        second.extensions["engine"].dispose()
