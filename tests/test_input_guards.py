"""Bad input gets a 4xx with a message, never a 500; one phone cannot race past the
one-answer rule."""

from __future__ import annotations

import http.client
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from sqlmodel import func, select
from werkzeug.serving import make_server

from app.db import new_session
from app.models import Response
from tests.conftest import csrf_token
from tests.test_public import answer, happy_answers, qr_responses, token_for
from tests.test_shopper import post


def text_of(response) -> str:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text(" ", strip=True)


@pytest.mark.parametrize("url", [
    "/manager/?store=%00", "/manager/?region=%00", "/manager/heatmap?store=E1%00",
    "/manager/export/responses.csv?region=%00", "/cases/?status=%00",
])
def test_a_nul_in_a_filter_is_refused_with_a_message(client, auth, url):
    auth.as_role("admin")
    reply = client.get(url)
    assert reply.status_code == 400
    assert "不允许的字符" in text_of(reply)


@pytest.mark.parametrize("url", [
    "/manager/trends?period=0001-01", "/manager/?period=0001-Q1", "/manager/?period=9999-12",
    "/manager/trends?from=0001-01-01&to=0001-02-01",
])
def test_periods_outside_any_plausible_year_are_refused_with_a_message(client, auth, url):
    auth.as_role("admin")
    reply = client.get(url)
    assert reply.status_code == 400
    assert "筛选条件无效" in text_of(reply) or "filters are not valid" in text_of(reply)


def test_a_nul_in_a_login_is_refused(client):
    page = client.get("/login")
    reply = client.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                        "username": "admin\x00", "password": "x"})
    assert reply.status_code == 400


def test_a_nul_in_a_survey_answer_stores_nothing(app, client):
    token = token_for(app)
    reply = answer(client, token, comment="hello\x00world")
    assert reply.status_code == 400
    assert qr_responses(app) == 0
    assert client.get(f"/s/{token}/thanks?r=%00").status_code == 400


@pytest.fixture
def shopper_post(client, auth, app):
    from tests.factories import assign_test_checklist

    with app.app_context(), new_session() as session:
        assignment_id = assign_test_checklist(session)
    auth.as_role("shopper")
    page = client.get(f"/shopper/a/{assignment_id}").get_data(as_text=True)
    return {"token": csrf_token(page), "uuid": str(uuid.uuid4()), "id": assignment_id}


@pytest.mark.parametrize("value", ["99:99", "24:00", "12:60", "1:30"])
def test_an_impossible_visit_time_is_refused_with_a_message(app, client, shopper_post, value):
    reply = post(client, shopper_post, "/save", {"item_greeted": "yes", "visit_start": value})
    assert reply.status_code == 400
    assert "09:30" in reply.get_data(as_text=True)
    with app.app_context(), new_session() as session:
        assert session.exec(select(func.count(Response.id))).one() == 0


def test_a_real_visit_time_is_kept(app, client, shopper_post):
    reply = post(client, shopper_post, "/save", {"item_greeted": "yes", "visit_start": "23:59"})
    assert reply.status_code == 200
    with app.app_context(), new_session() as session:
        assert session.exec(select(Response.visit_start)).one() == "23:59"


# --- one answer per phone, under parallel posts ------------------------------------------


class _Server:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def request(self, method: str, path: str, body: str | None = None, cookies: str = ""):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": cookies}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        data = reply.read().decode("utf-8", "replace")
        connection.close()
        return reply.status, reply.headers, data

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_ten_parallel_answers_from_one_phone_store_one(app):
    """Finding 5: 10 parallel posts with one cookie stored 6 (check, then insert)."""
    app.config["QR_RATE_LIMIT"] = "1000 per minute"
    token = token_for(app, instrument="aftersales-customer-survey")
    server = _Server(app)
    try:
        status, headers, page = server.request("GET", f"/s/{token}")
        assert status == 200
        jar = SimpleCookie()
        for header in headers.get_all("Set-Cookie"):
            jar.load(header)
        cookies = "; ".join(f"{k}={m.value}" for k, m in jar.items())
        fields = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)}
        fields |= happy_answers()

        def send(_):
            body = urlencode(fields | {"uuid": str(uuid.uuid4())})
            return server.request("POST", f"/s/{token}", body, cookies)[0]

        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(send, range(10)))
    finally:
        server.stop()
    assert sorted(statuses) == [303] + [429] * 9
    assert qr_responses(app) == 1
    with app.app_context(), new_session() as session:
        assert session.exec(select(func.count(Response.id))).one() == 1
