"""Logging in and out, CSRF, and who may open which page."""

import pytest

from tests.conftest import csrf_token


def test_login_page_is_chinese_by_default_with_an_english_switch(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    assert "English" in page
    english = client.get("/lang/en?next=/login", follow_redirects=True).get_data(as_text=True)
    assert "Log in" in english and 'lang="en"' in english


@pytest.mark.parametrize(("role", "home"), [
    ("admin", "/admin/"), ("manager", "/manager/"), ("reviewer", "/review/"),
    ("shopper", "/shopper/"),
])
def test_each_role_lands_on_its_home(client, auth, role, home):
    response = auth.login(role)
    assert response.status_code == 302 and response.headers["Location"] == home
    assert client.get(home).status_code == 200


def test_wrong_password_is_refused_in_the_users_language(client, auth):
    response = auth.login("admin", "wrong")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # still not logged in


def test_unknown_user_gets_the_same_message(auth):
    response = auth.login("nobody", "whatever")
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "admin", "password": "x"})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_logout_needs_post_with_csrf(client, auth):
    auth.as_role("admin")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_next_parameter_cannot_send_users_elsewhere(client):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x", data={
        "username": "admin", "password": "correct horse battery", "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


def test_htmx_requests_carry_the_csrf_token_header(client, auth):
    auth.as_role("manager")
    page = client.get("/manager/").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


# (role, path) -> status; None = anonymous. Anonymous users are sent to the login page.
ACCESS = [
    (None, "/admin/", 302), (None, "/manager/", 302), (None, "/review/", 302),
    (None, "/shopper/", 302), (None, "/login", 200),
    ("admin", "/admin/", 200), ("admin", "/manager/", 200), ("admin", "/review/", 200),
    ("admin", "/shopper/", 403),
    ("manager", "/admin/", 403), ("manager", "/manager/", 200), ("manager", "/review/", 403),
    ("manager", "/shopper/", 403),
    ("reviewer", "/admin/", 403), ("reviewer", "/manager/", 403), ("reviewer", "/review/", 200),
    ("reviewer", "/shopper/", 403),
    ("shopper", "/admin/", 403), ("shopper", "/manager/", 403), ("shopper", "/review/", 403),
    ("shopper", "/shopper/", 200),
]


@pytest.mark.parametrize(("role", "path", "status"), ACCESS)
def test_access(client, auth, role, path, status):
    if role:
        auth.as_role(role)
    response = client.get(path)
    assert response.status_code == status
    if status == 403:
        assert "无权访问" in response.get_data(as_text=True)


def test_unknown_page_is_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_deactivated_user_cannot_log_in(app, auth):
    from sqlmodel import select

    from app.db import new_session
    from app.models import User

    with app.app_context(), new_session() as session:
        user = session.exec(select(User).where(User.username == "shopper")).one()
        user.active = False
        session.add(user)
        session.commit()
    assert auth.login("shopper").status_code == 401


def test_password_guessing_is_rate_limited(app, client, auth):
    from app.extensions import limiter

    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    with app.app_context():
        limiter.reset()  # counters are per process: start from zero whatever ran before
    for _ in range(3):
        assert auth.login("admin", "guess").status_code == 401
    reply = auth.login("admin")  # even the right password waits now
    assert reply.status_code == 429 and "尝试次数过多" in reply.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
