"""Request guards shared by every blueprint.

NUL characters: PostgreSQL cannot hold them in text, so a `%00` in a filter or a form made
any query that used it fail with a 500. Nothing a person types contains one; such a request
is refused up front with a message.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext as _

from .errors import abort_with


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


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul():
        if _has_nul():
            abort_with(400, _("The request contains characters that are not allowed."))
