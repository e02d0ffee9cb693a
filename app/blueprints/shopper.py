"""The mystery shopper's phone pages: assignments, the checklist (autosave, offline,
exactly-once submission) and evidence photos."""

from __future__ import annotations

import uuid as uuid_module
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock, db, queries, shopping
from ..assets import cache_name
from ..auth import roles_required
from ..domain.geo import parse_position
from ..domain.item_types import is_time_of_day
from ..errors import abort_with
from ..forms.checklist import build_form, check, field_name, raw_answers
from ..history import of_response as history
from ..models import Assignment, Store
from ..photos import PhotoError, store_photo
from ..responses import stored_answers, stored_scores
from ..storage import storage

bp = Blueprint("shopper", __name__, url_prefix="/shopper")

CONFLICTS = {
    "already_submitted": lambda: _("This report was already submitted and can no longer be changed."),
    "approved": lambda: _("This report was approved and can no longer be changed."),
    "uuid_mismatch": lambda: _("This report is being filled in on another device or page. "
                               "Reload the page to continue."),
}


def assignment_state(assignment, response, today: date) -> str:
    """due | overdue | returned | submitted | approved | invalid, as the shopper's home
    groups them."""
    if response is not None and response.status in ("submitted", "approved", "returned",
                                                    "invalid"):
        return response.status
    return "overdue" if assignment.window_end < today else "due"


def get_assignment_or_404(assignment_id: int) -> Assignment:
    """The current shopper's own assignment; another shopper's is a 404 (no existence leak)."""
    assignment = db.session().get(Assignment, assignment_id)
    if (assignment is None or assignment.shopper_id != current_user.id
            or assignment.cancelled_at is not None):
        abort(404)
    return assignment


@bp.route("/")
@roles_required("shopper")
def index():
    today = date.today()
    rows = [
        {"assignment": a, "store": s, "version": v, "state": assignment_state(a, r, today),
         "response": r}
        for a, s, v, r in queries.assignments_for_shopper(db.session(), current_user.id)
    ]
    order = {"returned": 0, "overdue": 1, "due": 2, "submitted": 3, "approved": 4, "invalid": 5}
    rows.sort(key=lambda row: (order[row["state"]], row["assignment"].window_end))
    return render_template("shopper/index.html", rows=rows)


@bp.route("/a/<int:assignment_id>")
@roles_required("shopper")
def checklist(assignment_id: int):
    assignment = get_assignment_or_404(assignment_id)
    response = shopping.latest_response(db.session(), assignment.id)
    if response is not None and response.status not in shopping.OPEN:
        return redirect(url_for("shopper.report", assignment_id=assignment.id))
    return _checklist_page(assignment, response)


def _checklist_page(assignment, response, formdata=None, errors=None):
    session = db.session()
    version, instrument = shopping.instrument_of(session, assignment)
    answers = stored_answers(session, response.id) if response else {}
    evidence = shopping.stored_evidence(session, response.id) if response else {}
    form = build_form(instrument, str(get_locale()), formdata=formdata, data=answers)
    if formdata is None:
        form.uuid.data = response.uuid if response else str(uuid_module.uuid4())
        if response is not None:
            form.visit_start.data, form.visit_end.data = response.visit_start, response.visit_end
            form.visit_date.data = response.day.isoformat()
    return render_template(
        "shopper/checklist.html", form=form, instrument=instrument, assignment=assignment,
        store=session.get(Store, assignment.store_id), version=version, response=response,
        evidence=evidence, field_name=field_name, errors=errors or {},
        conditions={i.id: i.condition for i in instrument.items() if i.condition is not None},
        labels=queries.touchpoint_labels(session), today=clock.today(),
    )


def _evidence_from(form) -> dict[str, str]:
    return {key[len("evidence_"):]: value for key, value in form.items()
            if key.startswith("evidence_") and value}


def _answers_or_error(instrument, final: bool):
    raw = raw_answers(instrument, request.form)
    answers, errors = check(instrument, raw, final)
    evidence = _evidence_from(request.form)
    if answers is not None:
        evidence.update(shopping.photo_answers(instrument, answers))
        try:
            shopping.check_evidence(db.session(), instrument, evidence, current_user.id)
        except shopping.EvidenceError as error:
            return raw, evidence, {error.item_id: _("This photo is not one of your uploads.")}
        if final:
            for item_id in shopping.missing_evidence(instrument, answers, evidence):
                errors.setdefault(item_id, _("A photo is required as evidence."))
    if answers is None:
        errors = {k: _("This answer is not valid for this item.") for k in errors}
    return raw, evidence, errors


def _posted(assignment_id: int, final: bool):
    """The shopper's own assignment, its instrument and the posted answers checked against it
    (the visit's date and times too: on the day of the visit, inside the window, leaving after
    arriving)."""
    session = db.session()
    assignment = get_assignment_or_404(assignment_id)
    _version, instrument = shopping.instrument_of(session, assignment)
    raw, evidence, errors = _answers_or_error(instrument, final=final)
    problem = shopping.visit_problem(assignment, _visit_date(), _time("visit_start"),
                                     _time("visit_end"), clock.now())
    if problem:
        errors = {**errors, problem: VISIT_PROBLEMS[problem]()}
    return session, assignment, instrument, (raw, evidence, errors)


VISIT_PROBLEMS = {
    "visit_date": lambda: _("The visit date must lie inside the visit window and not after today."),
    "visit_end": lambda: _("The visit must end after it started."),
    "visit_time": lambda: _("A visit today cannot have started or ended later than now."),
}


def _position(prefix: str):
    """The phone's position if it sent one; never an error (location is optional)."""
    form = request.form
    return parse_position(form.get(f"{prefix}_lat"), form.get(f"{prefix}_lon"),
                          form.get(f"{prefix}_acc"))


def _visit_date() -> date | None:
    value = request.form.get("visit_date", "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400)


@bp.route("/a/<int:assignment_id>/save", methods=["POST"])
@roles_required("shopper")
def save(assignment_id: int):
    """htmx autosave: stores the answers given so far; answers with the save state fragment."""
    session, assignment, instrument, (raw, evidence, errors) = _posted(assignment_id, final=False)
    if errors:
        return render_template("shopper/_save_state.html", errors=errors, instrument=instrument), 400
    try:
        shopping.save_draft(session, assignment=assignment, uuid=_uuid(), raw=raw,
                            evidence=evidence, visit_start=_time("visit_start"),
                            visit_end=_time("visit_end"), visit_date=_visit_date(),
                            start=_position("geo_start"))
    except shopping.Conflict as conflict:
        return render_template("shopper/_save_state.html", conflict=CONFLICTS[conflict.code]()), 409
    return render_template("shopper/_save_state.html", saved=True)


@bp.route("/a/<int:assignment_id>", methods=["POST"])
@roles_required("shopper")
def submit(assignment_id: int):
    """Final submission, from the page's script (JSON answer) or a plain form post."""
    session, assignment, instrument, (raw, evidence, errors) = _posted(assignment_id, final=True)
    wants_json = request.accept_mimetypes.best == "application/json"
    if errors:
        if wants_json:
            return jsonify(message=_("Please complete the highlighted answers."), errors=errors), 422
        flash(_("Please complete the highlighted answers."), "error")
        response = shopping.latest_response(session, assignment.id)
        return _checklist_page(assignment, response, formdata=request.form, errors=errors), 422
    try:
        outcome = shopping.submit(session, assignment=assignment, uuid=_uuid(), raw=raw,
                                  evidence=evidence, visit_start=_time("visit_start"),
                                  visit_end=_time("visit_end"), visit_date=_visit_date(),
                                  start=_position("geo_start"),
                                  at_submit=_position("geo_submit"))
    except shopping.Conflict as conflict:
        if wants_json:
            return jsonify(message=CONFLICTS[conflict.code]()), 409
        abort(409)
    target = url_for("shopper.report", assignment_id=assignment.id)
    if wants_json:
        return jsonify(status=outcome.response.status, overall=outcome.response.overall,
                       uuid=outcome.response.uuid, replay=outcome.replay, url=target)
    flash(_("Report submitted. Thank you!"), "ok")
    return redirect(target, code=303)


def _uuid() -> str:
    value = request.form.get("uuid", "")
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        abort(400)


def _time(name: str) -> str | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not is_time_of_day(value):
        abort_with(400, _("The visit time must be a time of day, such as 09:30."))
    return value


@bp.route("/a/<int:assignment_id>/report")
@roles_required("shopper")
def report(assignment_id: int):
    session = db.session()
    assignment = get_assignment_or_404(assignment_id)
    version, instrument = shopping.instrument_of(session, assignment)
    response = shopping.latest_response(session, assignment.id)
    if response is None or response.status in shopping.OPEN:
        return redirect(url_for("shopper.checklist", assignment_id=assignment.id))
    return render_template(
        "shopper/report.html", assignment=assignment, response=response, version=version,
        instrument=instrument, store=session.get(Store, assignment.store_id),
        answers=stored_answers(session, response.id), scores=stored_scores(session, response.id),
        labels=queries.touchpoint_labels(session),
        history=history(session, response.id),
    )


@bp.route("/photos", methods=["POST"])
@roles_required("shopper")
def upload_photo():
    upload = request.files.get("photo")
    if upload is None:
        return jsonify(message=_("No photo was sent.")), 400
    messages = {
        "too_large": (_("The photo is too large."), 413),
        "not_image": (_("This file is not a photo."), 415),
        "bad_type": (_("Only JPEG, PNG or WebP photos are accepted."), 415),
        "too_big_dimensions": (_("The photo is too large."), 413),
    }
    try:
        stored = store_photo(db.session(), data=upload.read(),
                             storage=storage(),
                             max_bytes=current_app.config["PHOTO_MAX_BYTES"],
                             uploaded_by=current_user.id)
    except PhotoError as error:
        message, status = messages[error.code]
        return jsonify(message=message), status
    db.session().commit()
    return jsonify(sha256=stored.sha256,
                   thumb=url_for("reviewer.photo", sha256=stored.sha256, thumb=1)), 201


# What the service worker keeps from its first start: every script and stylesheet the shopper's
# pages load, so a checklist cached by the list opens offline with all it needs.
PRECACHE_STATIC = ("css/app.css", "vendor/htmx.min.js", "js/store.js", "js/show_if.js",
                   "js/checklist.js", "js/register-sw.js", "js/shopper-list.js", "js/logout.js",
                   "js/visit-geo.js")


@bp.route("/sw.js")
def service_worker():
    """Served from /shopper/ so that it may control the shopper's pages; rendered so that it
    names the files by their current URLs and its cache by their content hash."""
    precache = [url_for("static", filename=name) for name in PRECACHE_STATIC]
    precache.append(url_for("shopper.offline"))
    body = render_template("shopper/sw.js", cache_name=cache_name(), precache=precache)
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
def offline():
    """Shown by the service worker for a page that was never kept on this phone. Public and
    the same for everyone: it is cached once and holds nothing personal."""
    return render_template("shopper/offline.html")
