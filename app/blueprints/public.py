"""Customers: the public QR survey (no login, works without JavaScript).

GET /s/<token> shows the active version of the token's instrument on one page; POST stores it
once (rate-limited by address) and redirects to the thank-you page. Every problem with a code
(forged, altered, expired, used, answered again from the same phone) is a small friendly page
with a 4xx status. Pages are gzip-compressed here and carry their CSS inline: one request.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
import uuid as uuid_module

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import db, public_survey, survey_forms
from ..extensions import limiter
from ..security import is_https

bp = Blueprint("public", __name__, url_prefix="/s")

DEVICE_COOKIE = "tp_dev"
DEFAULTS = {
    "QR_RATE_LIMIT": "10 per minute;60 per hour",  # answers posted from one address
    "QR_REPEAT_HOURS": 24,  # a device answers a store's code at most QR_REPEAT_MAX times
    "QR_REPEAT_MAX": 1,
    "CASE_DUE_HOURS": 24,  # seed 002, 4.3: first contact within 24 hours
    "QR_POSTER_DAYS": 730,  # how long a store poster's code stays valid
    "QR_VISIT_DAYS": 90,  # how long a per-visit (single-use) code stays valid
}


@bp.record_once
def _defaults(state) -> None:
    for key, value in DEFAULTS.items():
        state.app.config.setdefault(key, value)


def _problems() -> dict[str, tuple[int, str, str]]:
    return {
        "invalid": (404, _("This code is not valid"),
                    _("The code could not be read. Please scan the code at the store again.")),
        "expired": (410, _("This code has expired"),
                    _("This survey code is no longer valid. Thank you for wanting to help.")),
        "used": (410, _("This code has already been used"),
                 _("A survey was already answered with this code. Thank you!")),
        "repeat": (429, _("You have already answered"),
                   _("This phone has already answered this store's survey recently. Thank you!")),
        "gone": (404, _("This survey is not available"),
                 _("This survey is no longer available. Please ask the store for a new code.")),
    }


@bp.before_request
def _browser_language() -> None:
    """zh or en from the browser's language until the customer picks one with the switch."""
    languages = current_app.config["LANGUAGES"]
    if "lang" not in session and request.args.get("lang") not in languages:
        best = request.accept_languages.best_match(languages)
        if best:
            session["lang"] = best


@bp.app_template_global()
def switch_url(code: str) -> str:
    args = {**request.args, "lang": code}
    return url_for(request.endpoint or "auth.home", **(request.view_args or {}), **args)


@bp.after_request
def _compress(response):
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Vary"] = "Accept-Encoding, Cookie"
    if ("gzip" in request.headers.get("Accept-Encoding", "") and not response.direct_passthrough
            and response.status_code != 304 and "Content-Encoding" not in response.headers):
        response.set_data(gzip.compress(response.get_data(), compresslevel=6))
        response.headers["Content-Encoding"] = "gzip"
    return response


@bp.errorhandler(public_survey.Unavailable)
def _unavailable(error: public_survey.Unavailable):
    code, heading, message = _problems()[error.reason]
    return render_template("public/problem.html", heading=heading, message=message,
                           store=None), code


@bp.errorhandler(CSRFError)
def _csrf(error: CSRFError):
    message = _("Your answers could not be sent: this page was open too long or cookies are "
                "off. Please scan the code again.")
    return render_template("public/problem.html", heading=_("Please try again"),
                           message=message, store=None), 400


@bp.errorhandler(HTTPException)
def _http(error: HTTPException):
    if error.code == 429:
        heading, message = _("Too many answers"), _(
            "Too many answers were sent from this network. Please wait a moment and try again.")
    else:
        heading, message = _("Something is not right"), _("Please scan the code again.")
    return render_template("public/problem.html", heading=heading, message=message,
                           store=None), error.code or 400


def _page(token, target, *, uuid: str, posted=None):
    rows = survey_forms.rows(target.instrument, str(get_locale()), posted)
    return render_template(
        "public/survey.html", token=token, store=target.store, instrument=target.instrument,
        rows=rows, uuid=uuid, errors=posted.errors if posted else {},
        phone=posted.phone if posted else "", call_back=posted.call_back if posted else False,
    )


def _device_cookie(response, value: str, *, new: bool):
    """A random id for this phone, kept a year, sent only to the survey pages."""
    if new:
        response.set_cookie(DEVICE_COOKIE, value, max_age=400 * 86400, httponly=True,
                            samesite="Lax", path=f"{bp.url_prefix}/", secure=is_https())
    return response


ANSWERED_COOKIE = "tp_answered"
BACK_SECONDS = 900  # long enough for a "back" from the thank-you page, short of a new visit


def _answered_mark(token: str) -> str:
    """Which code this phone answered last, without keeping the code itself in a cookie."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@bp.route("/<token>", methods=["GET"])
def survey(token: str):
    # Back from the thank-you page: show it again, not a fresh form or a browser error.
    mark, _sep, answer = request.cookies.get(ANSWERED_COOKIE, "").partition(":")
    if answer and mark == _answered_mark(token):
        return redirect(url_for("public.thanks", token=token, r=answer), 303)
    target = public_survey.resolve(db.session(), token)
    page = current_app.make_response(_page(token, target, uuid=str(uuid_module.uuid4())))
    cookie = request.cookies.get(DEVICE_COOKIE)
    return _device_cookie(page, cookie or secrets.token_hex(16), new=cookie is None)


@bp.route("/<token>", methods=["POST"])
@limiter.limit(lambda: current_app.config["QR_RATE_LIMIT"])
def submit(token: str):
    session_ = db.session()
    target = public_survey.resolve(session_, token, allow_used=True)
    posted = survey_forms.parse(target.instrument, request.form)
    uuid = survey_forms.client_uuid(request.form)
    if not posted.ok:
        return _page(token, target, uuid=uuid, posted=posted), 400
    cookie = request.cookies.get(DEVICE_COOKIE)
    device = cookie or secrets.token_hex(16)
    outcome = public_survey.submit(session_, target, posted, uuid=uuid,
                                   device=public_survey.device_hash(device),
                                   config=current_app.config)
    done = redirect(url_for("public.thanks", token=token, r=outcome.response.uuid), 303)
    done.set_cookie(ANSWERED_COOKIE, f"{_answered_mark(token)}:{outcome.response.uuid}",
                    max_age=BACK_SECONDS, httponly=True,
                    samesite="Lax", path=f"{bp.url_prefix}/")
    return _device_cookie(done, device, new=cookie is None)


@bp.route("/<token>/thanks")
def thanks(token: str):
    target = public_survey.resolve(db.session(), token, allow_used=True)
    case = public_survey.thanks_state(db.session(), request.args.get("r", ""), target.store.id)
    return render_template("public/thanks.html", store=target.store, case=case,
                           due_hours=current_app.config["CASE_DUE_HOURS"])
