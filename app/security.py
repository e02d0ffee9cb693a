"""Security headers and request guards shared by every blueprint.

A few lines rather than Flask-Talisman: its defaults redirect to https and mark the session
cookie Secure unconditionally, both wrong for `make run` on http://127.0.0.1, and what this app
needs beyond the fixed headers (no-store by login state, a nonce for the few inline scripts,
Secure/HSTS decided per request behind ProxyFix) is as long to configure as to write.

- Content-Security-Policy: only this host's scripts and styles, inline ones only with the
  request's nonce (`csp_nonce()` in templates); no framing (also X-Frame-Options DENY), but
  for an instrument's preview, framed by this site's own admin page.
- nosniff, Referrer-Policy, a Server header that names no software.
- HSTS and a Secure session cookie when the request came over https (directly, or through
  PROXY_COUNT trusted proxies saying so via X-Forwarded-Proto) or PREFERRED_URL_SCHEME=https.
- `Cache-Control: no-store` on every page that is not a static file, unless the view chose
  its own: pages show people's answers, cases show phone numbers, forms carry CSRF tokens.

NUL characters: PostgreSQL cannot hold them in text, so a `%00` in a filter or a form made
any query that used it fail with a 500. Nothing a person types contains one; such a request
is refused up front with a message.
"""

from __future__ import annotations

import secrets

from flask import Flask, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _

from .errors import abort_with

HSTS = "max-age=31536000; includeSubDomains"
SERVER_NAME = "touchpoint"  # replaces "Werkzeug/3.x Python/3.x" (gunicorn: see SECURITY.md)


def csp_nonce() -> str:
    """This response's nonce for inline <script> and <style> elements."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str, frame_ancestors: str = "'none'") -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self' data: blob:",  # the phone turns a kept photo back into a file
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


def is_https() -> bool:
    return request.is_secure or current_app.config.get("PREFERRED_URL_SCHEME") == "https"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure also when this request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or is_https()


def _has_nul() -> bool:
    if "\x00" in request.path:
        return True
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        return True
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return any("\x00" in key or "\x00" in value
                   for key, value in request.form.items(multi=True))
    return False


def _headers(response):
    headers = response.headers
    # one kind of page may be framed, by this site only: an instrument's preview, shown at
    # phone size inside the admin's page of that version (g.frame_same_origin)
    framed = bool(g.get("frame_same_origin"))
    headers["Content-Security-Policy"] = content_security_policy(
        csp_nonce(), "'self'" if framed else "'none'")
    headers["X-Frame-Options"] = "SAMEORIGIN" if framed else "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "same-origin")
    headers["Server"] = SERVER_NAME
    if is_https():
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.before_request
    def _refuse_nul():
        if _has_nul():
            abort_with(400, _("The request contains characters that are not allowed."))

    app.after_request(_headers)
