"""Two app servers (gunicorn, two ports) on the same PostgreSQL and Redis behave as one: a login
made on one works on the other, a logout on one ends it on both, and the public survey's rate
limit counts answers posted to either."""

from __future__ import annotations

import pytest
import requests

from app import create_app
from app.db import new_session
from app.migrate import upgrade
from tests.conftest import PASSWORD, PG_URL, SURVEYS, _reset_postgres, csrf_token
from tests.factories import load_shipped, make_network
from tests.services import SECRET, Gunicorn, app_env, redis_or_skip
from tests.test_public import fields, happy_answers, token_for

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set: two servers share PostgreSQL"),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Both servers, started once for this module's tests."""
    tmp_path = tmp_path_factory.mktemp("servers")
    redis_url = redis_or_skip()
    _reset_postgres(PG_URL)
    app = create_app({"DATABASE_URL": PG_URL, "SECRET_KEY": SECRET, "SURVEYS_DIR": str(SURVEYS),
                      "REDIS_URL": "", "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        upgrade(app.extensions["engine"])
        with new_session() as session:
            load_shipped(session)
            make_network(session)
            session.commit()
    env = app_env(PG_URL, REDIS_URL=redis_url, QR_RATE_LIMIT="3 per minute")
    both = []
    try:
        for name in ("a", "b"):
            both.append(Gunicorn(env, tmp_path / f"{name}.log", workers=1, threads=2))
        yield app, both[0].url, both[1].url
    finally:
        for server in both:
            server.stop()
        app.extensions["engine"].dispose()


def login(http: requests.Session, base: str, username: str) -> None:
    page = http.get(f"{base}/login", timeout=60)
    reply = http.post(f"{base}/login", timeout=60, allow_redirects=False, data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    assert reply.status_code == 302, reply.text


def is_signed_in(http: requests.Session, base: str) -> bool:
    reply = http.get(f"{base}/review/", timeout=60, allow_redirects=False)
    assert reply.status_code in (200, 302), reply.status_code
    return reply.status_code == 200


def test_a_login_on_one_server_works_on_the_other(servers):
    _app, a, b = servers
    browser = requests.Session()
    assert not is_signed_in(browser, b)
    login(browser, a, "reviewer")
    assert is_signed_in(browser, b)
    assert is_signed_in(browser, a)


def test_the_public_rate_limit_counts_answers_posted_to_either_server(servers):
    app, a, b = servers
    token = token_for(app)

    def answer(base: str) -> int:
        phone = requests.Session()  # a new phone each time: only the address is shared
        form = fields(phone.get(f"{base}/s/{token}", timeout=60).text) | happy_answers()
        return phone.post(f"{base}/s/{token}", data=form, timeout=60, allow_redirects=False).status_code

    assert [answer(a), answer(b), answer(a)] == [303, 303, 303]
    assert answer(b) == 429
    assert answer(a) == 429


def test_a_logout_on_one_server_ends_the_session_on_both(servers):
    _app, a, b = servers
    browser, thief = requests.Session(), requests.Session()
    login(browser, a, "reviewer")
    thief.cookies.update(browser.cookies)  # a copy of the cookie, used on the other server
    assert is_signed_in(thief, b)
    page = browser.get(f"{a}/review/", timeout=60)
    reply = browser.post(f"{a}/logout", data={"csrf_token": csrf_token(page.text)}, timeout=60,
                         allow_redirects=False)
    assert reply.status_code == 302
    assert not is_signed_in(thief, b)
    assert not is_signed_in(thief, a)
