"""Security headers on every response; HSTS and Secure cookies over https (directly or via a
trusted proxy); personal pages never cached."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app
from app.charts import HEAT, heat_css
from tests.test_public import token_for

ROOT = Path(__file__).resolve().parent.parent


def _assert_hardened(reply) -> None:
    csp = reply.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in re.search(r"style-src ([^;]*)", csp).group(1)
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert not re.search(r"werkzeug|python|flask|gunicorn", reply.headers.get("Server", ""), re.I)


@pytest.mark.parametrize("url", ["/login", "/static/css/app.css", "/nowhere", "/shopper/sw.js",
                                 "/s/not-a-code", "/manager/"])
def test_every_response_carries_the_security_headers(client, url):
    _assert_hardened(client.get(url))


def test_the_public_survey_carries_them_and_its_inline_parts_have_the_nonce(app, client):
    reply = client.get(f"/s/{token_for(app)}")
    assert reply.status_code == 200
    _assert_hardened(reply)
    nonce = re.search(r"'nonce-([^']+)'", reply.headers["Content-Security-Policy"]).group(1)
    html = reply.get_data(as_text=True)
    inline = re.findall(r"<(script|style)([^>]*)>", html)
    assert inline and all(f'nonce="{nonce}"' in attrs for _tag, attrs in inline
                          if "src=" not in attrs and "application/json" not in attrs)
    assert reply.headers["Cache-Control"] == "no-store"


def test_each_response_has_a_new_nonce(app, client):
    token = token_for(app)
    first, second = (re.search(r"'nonce-([^']+)'", client.get(f"/s/{token}").headers[
        "Content-Security-Policy"]).group(1) for _ in range(2))
    assert first != second and len(first) >= 16


@pytest.mark.parametrize(("role", "url"), [
    ("manager", "/cases/"), ("manager", "/manager/"), ("shopper", "/shopper/"),
    ("admin", "/admin/"), ("reviewer", "/review/"), ("admin", "/password"),
])
def test_personal_pages_are_never_stored_by_a_cache(client, auth, role, url):
    auth.as_role(role)
    reply = client.get(url)
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-store"


def test_the_login_page_is_not_cached_either(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_own_caching(client):
    assert client.get("/static/css/app.css").headers.get("Cache-Control") != "no-store"


def test_plain_http_has_no_hsts_and_no_secure_cookie(client, auth):
    reply = auth.login("admin")
    assert "Strict-Transport-Security" not in reply.headers
    assert "Secure" not in reply.headers["Set-Cookie"]


def _https_app(database_url, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": database_url,
                       "LOGIN_RATE_LIMIT": "100000 per minute", **config})


def test_https_brings_hsts_and_a_secure_session_cookie(app, client):
    secure = _https_app(app.config["DATABASE_URL"], PREFERRED_URL_SCHEME="https",
                        SESSION_COOKIE_SECURE=True)
    try:
        reply = secure.test_client().get("/login", base_url="https://localhost")
        assert "max-age=" in reply.headers["Strict-Transport-Security"]
        assert "Secure" in reply.headers["Set-Cookie"]  # the session holding the CSRF token
    finally:
        secure.extensions["engine"].dispose()


def test_behind_a_trusted_proxy_saying_https_cookies_are_secure(app):
    proxied = _https_app(app.config["DATABASE_URL"], PROXY_COUNT=1)
    try:
        via_proxy = proxied.test_client()
        reply = via_proxy.get("/login", headers={"X-Forwarded-Proto": "https",
                                                 "X-Forwarded-For": "203.0.113.9"})
        assert "Strict-Transport-Security" in reply.headers
        assert "Secure" in reply.headers["Set-Cookie"]
    finally:
        proxied.extensions["engine"].dispose()


def test_without_a_proxy_a_forged_forwarded_proto_is_ignored(client):
    reply = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in reply.headers


def test_the_heat_map_colours_in_the_stylesheet_follow_the_chart_palette():
    css = (ROOT / "static" / "css" / "app.css").read_text()
    assert heat_css() in css
    assert len(HEAT) == 5


def test_no_template_has_an_inline_style_attribute_or_handler():
    """The CSP forbids them: every template keeps styles in app.css and scripts in files."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        if "reports" in path.parts:  # rendered to PDF by WeasyPrint, never served as a page
            continue
        text = path.read_text()
        if re.search(r"\sstyle=|\son[a-z]+=", text):
            offenders.append(path.name)
    assert offenders == []


def test_over_https_the_session_cookie_is_host_bound(monkeypatch, app):
    monkeypatch.setenv("PREFERRED_URL_SCHEME", "https")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    secure = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"]})
    try:
        reply = secure.test_client().get("/login", base_url="https://localhost")
        cookie = reply.headers["Set-Cookie"]
        assert cookie.startswith("__Host-session=") and "Secure" in cookie and "Path=/" in cookie
        assert "Domain=" not in cookie
    finally:
        secure.extensions["engine"].dispose()


def test_xlsx_is_parsed_through_defusedxml():
    """Uploaded spreadsheets (network imports) must not resolve external XML entities."""
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML
