"""Friendly error pages in the user's language: never a traceback."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Please go back and try again."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        429: _("Too many attempts. Please wait a moment and try again."),
        500: _("Something went wrong on our side. Your data is safe; please try again."),
    }


def render_error(code: int, message: str | None = None):
    text = message or _messages().get(code) or _messages()[400]
    if request.headers.get("HX-Request"):
        return render_template("_error.html", code=code, message=text), code
    return render_template("error.html", code=code, message=text), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        message = _("The form expired or was sent from elsewhere. Please reload the page and try again.")
        return render_error(400, message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = error.code or 500
        custom = error.description if getattr(error, "friendly", False) else None
        return render_error(code, custom)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if app.testing:  # let tests see the real error
            raise error
        app.logger.exception("unhandled error")
        return render_error(InternalServerError.code)


def abort_with(code: int, message: str):
    """Abort with a message meant for the user (already translated)."""
    from werkzeug.exceptions import default_exceptions

    error = default_exceptions[code](description=message)
    error.friendly = True
    raise error
