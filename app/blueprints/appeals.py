"""Appeals (申诉): a store's manager contests item results of an approved mystery shop; a
reviewer decides each item; the shopper sees the outcome.

Managers see their stores' appeals (another store's: 404); reviewers and admins see all and
decide; shoppers see only the decided appeals on their own reports.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import appeals, db
from ..auth import roles_required
from ..instruments import definition
from ..models import InstrumentVersion, Response
from ..photos import PhotoError, store_photo
from ..queries import touchpoint_labels
from ..responses import stored_answers
from ..scope import visible_store_ids
from ..storage import storage

bp = Blueprint("appeals", __name__, url_prefix="/appeals")


def _scope():
    return visible_store_ids(db.session(), current_user)


def _days() -> int:
    return current_app.config["APPEAL_DAYS"]


@bp.route("/")
@roles_required("admin", "manager", "reviewer")
def index():
    session = db.session()
    reviewing = current_user.role in ("admin", "reviewer")
    return render_template(
        "appeals/index.html",
        open_rows=appeals.listing(session, _scope(), status="open"),
        decided_rows=appeals.listing(session, _scope(), status="decided", limit=50),
        reports=[] if reviewing else appeals.appealable_reports(session, _scope(), days=_days()),
        rates=appeals.rates_per_shopper(session) if reviewing else [],
        days=_days(), deadline=lambda r: appeals.deadline(r, _days()),
    )


def get_report_or_404(response_id: int) -> Response:
    found = db.session().get(Response, response_id)
    scope = _scope()
    if (found is None or found.kind != "mystery_shop" or found.status != "approved"
            or (scope is not None and found.store_id not in scope)):
        abort(404)
    return found


def _form_page(response: Response, errors: dict | None = None, status: int = 200):
    session = db.session()
    version = session.get(InstrumentVersion, response.instrument_version_id)
    instrument = definition(version)
    answers = stored_answers(session, response.id)
    taken = appeals.already_appealed(session, response.id)
    items = [i for i in appeals.contestable(instrument, answers) if i.id not in taken]
    return render_template(
        "appeals/new.html", response=response, version=version, items=items, answers=answers,
        labels=touchpoint_labels(session), form=FlaskForm(), errors=errors or {}, loads=json.loads,
        deadline=appeals.deadline(response, _days()),
        open=appeals.is_open_for_appeal(response, _days()),
        section_of={i.id: s.touchpoint for s in instrument.sections for i in s.items},
    ), status


@bp.route("/new/<int:response_id>")
@roles_required("admin", "manager")
def new(response_id: int):
    return _form_page(get_report_or_404(response_id))


PHOTO_ERRORS = {"too_large": "The photo is too large.", "too_big_dimensions":
                "The photo is too large.", "bad_type": "Only JPEG, PNG or WebP photos are accepted.",
                "not_image": "This file is not a photo."}


@bp.route("/new/<int:response_id>", methods=["POST"])
@roles_required("admin", "manager")
def create(response_id: int):
    response = get_report_or_404(response_id)
    if not FlaskForm().validate():
        abort(400)
    session = db.session()
    chosen = request.form.getlist("item")
    items: dict[str, tuple[str, str | None]] = {}
    for item_id in chosen:
        upload = request.files.get(f"photo_{item_id}")
        sha = None
        if upload is not None and upload.filename:
            try:
                sha = store_photo(session, data=upload.read(), storage=storage(),
                                  max_bytes=current_app.config["PHOTO_MAX_BYTES"],
                                  uploaded_by=current_user.id).sha256
            except PhotoError as error:
                session.rollback()
                return _form_page(response, {item_id: _(PHOTO_ERRORS[error.code])}, 400)
        items[item_id] = (request.form.get(f"reason_{item_id}", ""), sha)
    try:
        appeal = appeals.file_appeal(session, response=response, user=current_user,
                                     days=_days(), items=items)
    except appeals.AppealError as error:
        session.rollback()
        messages = {
            "closed": _("The appeal period for this report has ended."),
            "empty": _("Choose at least one item and give a reason for each."),
            "item": _("This item cannot be appealed."),
            "again": _("This item was already appealed."),
        }
        status = 409 if error.code in ("closed", "again") else 400
        key = error.item_id if error.code in ("empty", "again") and error.item_id else "_"
        return _form_page(response, {key: messages[error.code]}, status)
    flash(_("Appeal filed: a reviewer will decide it."), "ok")
    return redirect(url_for("appeals.show", appeal_id=appeal.id), 303)


def get_appeal_or_404(appeal_id: int) -> appeals.AppealRow:
    row = appeals.get(db.session(), appeal_id, _scope())
    if row is None:
        abort(404)
    return row


def _show(row: appeals.AppealRow, error: str | None = None, status: int = 200):
    session = db.session()
    instrument = definition(session.get(InstrumentVersion, row.response.instrument_version_id))
    return render_template(
        "appeals/show.html", row=row, appeal=row.appeal, items=appeals.items_of(
            session, row.appeal.id), instrument=instrument, form=FlaskForm(), error=error,
        may_decide=current_user.role in ("admin", "reviewer"), loads=json.loads,
        revisions=appeals.revisions(session, row.response.id),
        labels=touchpoint_labels(session),
    ), status


@bp.route("/<int:appeal_id>")
@roles_required("admin", "manager", "reviewer")
def show(appeal_id: int):
    return _show(get_appeal_or_404(appeal_id))


@bp.route("/<int:appeal_id>/decide", methods=["POST"])
@roles_required("admin", "reviewer")
def decide(appeal_id: int):
    row = get_appeal_or_404(appeal_id)
    if not FlaskForm().validate():
        abort(400)
    session = db.session()
    decisions = {
        item.item_id: (request.form.get(f"decision_{item.item_id}", ""),
                       request.form.get(f"note_{item.item_id}", ""))
        for item in appeals.items_of(session, appeal_id)
    }
    try:
        appeals.decide(session, row.appeal, current_user, decisions)
    except appeals.AppealError as error:
        session.rollback()
        if error.code == "decided":
            return _show(row, _("This appeal was already decided."), 409)
        return _show(row, _("Decide every item: uphold or overturn."), 400)
    flash(_("Appeal decided."), "ok")
    return redirect(url_for("appeals.show", appeal_id=appeal_id), 303)


@bp.route("/mine")
@roles_required("shopper")
def mine():
    """The shopper's own reports that were appealed, with the outcome of each item."""
    session = db.session()
    rows = appeals.listing(session, None, shopper_id=current_user.id)
    return render_template("appeals/mine.html", rows=rows,
                           items=appeals.items_for(session, {r.appeal.id for r in rows}),
                           instruments=appeals.instruments_for(session, [r.response for r in rows]))
