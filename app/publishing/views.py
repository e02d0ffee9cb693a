"""Admin pages for instrument versions: upload (draft), preview and diff, publish."""

from __future__ import annotations

import uuid as uuid_module
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlmodel import select
from wtforms import DateField
from wtforms.validators import Optional

from .. import clock, db, queries, survey_forms
from ..auth import roles_required
from ..domain.definitions import DefinitionError, load_taxonomy, parse_instrument
from ..domain.instrument_diff import diff
from ..forms.checklist import build_form, field_name
from ..instruments import (
    NotPublishable,
    VersionConflict,
    active_version,
    active_versions,
    definition,
    in_use,
    load_instrument,
    next_review,
    publish_version,
)
from ..models import InstrumentVersion, User

bp = Blueprint("publishing", __name__, url_prefix="/admin/instruments")

MAX_YAML_BYTES = 512 * 1024


class UploadForm(FlaskForm):
    file = FileField(validators=[FileRequired()])


class PublishForm(FlaskForm):
    effective_on = DateField(_l("Effective from"), validators=[Optional()])


def review_interval() -> int:
    return int(current_app.config.get("REVIEW_INTERVAL_DAYS", 365))


def overdue_reviews(session, today: date) -> list[tuple[InstrumentVersion, date]]:
    """Versions in use whose review date has passed, for the admin home."""
    rows = active_versions(session, today=today)
    due = [(row, next_review(row, review_interval())) for row in rows]
    return [(row, day) for row, day in due if day is not None and day < today]


@bp.route("/")
@roles_required("admin")
def index(form=None, problems=None, status=200):
    session = db.session()
    versions = session.exec(select(InstrumentVersion).order_by(
        InstrumentVersion.instrument_id, InstrumentVersion.version.desc())).all()
    today = clock.today()
    reviews = {v.id: next_review(v, review_interval()) for v in versions}
    return render_template("publishing/index.html", versions=versions, reviews=reviews,
                           today=today, in_use=in_use(session, today),
                           form=form or UploadForm(), problems=problems or []), status


@bp.route("/upload", methods=["POST"])
@roles_required("admin")
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return index(form, [_("Choose a YAML file.")], 400)
    upload = form.file.data
    name = Path(upload.filename or "instrument.yaml").name
    data = upload.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        return index(form, [_("The file is larger than 512 KB.")], 413)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return index(form, [f"{name}:1: " + _("the file is not UTF-8 text")], 400)
    taxonomy = load_taxonomy(Path(current_app.config["SURVEYS_DIR"]) / "touchpoints.yaml")
    try:
        instrument = parse_instrument(text, name, taxonomy.ids())
    except DefinitionError as error:
        return index(form, [str(p) for p in error.problems], 400)
    session = db.session()
    try:
        load_instrument(session, instrument, publish=False)
    except VersionConflict as error:
        session.rollback()
        return index(form, [f"{name}:1: {error}"], 409)
    session.commit()
    row = session.exec(select(InstrumentVersion).where(
        InstrumentVersion.instrument_id == instrument.id,
        InstrumentVersion.version == instrument.version)).one()
    return redirect(url_for("publishing.show", version_id=row.id))


def _version_or_404(version_id: int) -> InstrumentVersion:
    row = db.session().get(InstrumentVersion, version_id)
    if row is None:
        abort(404)
    return row


@bp.route("/<int:version_id>")
@roles_required("admin")
def show(version_id: int):
    session = db.session()
    row = _version_or_404(version_id)
    instrument = definition(row)
    active = active_version(session, row.instrument_id)
    changes = diff(definition(active) if active and active.id != row.id else None, instrument) \
        if not (active and active.id == row.id) else []
    approver = session.get(User, row.approved_by) if row.approved_by else None
    form = PublishForm()
    if form.effective_on.data is None:
        form.effective_on.data = clock.today()
    return render_template(
        "publishing/show.html", row=row, instrument=instrument, active=active,
        changes=changes, approver=approver, publish=form,
        next_review=next_review(row, review_interval()),
        preview_url=url_for("publishing.preview", version_id=row.id))


@bp.route("/<int:version_id>/preview", methods=["GET", "POST"])
@roles_required("admin")
def preview(version_id: int):
    """The version as its users will meet it, from the very templates they get: a customer
    survey as the public QR page (a POST shows its checks and thank-you page, storing
    nothing), a checklist as the shopper's phone form. Framed by the version's page."""
    row = _version_or_404(version_id)
    instrument = definition(row)
    g.frame_same_origin = True  # the version's page shows this one in a phone-sized frame
    store = SimpleNamespace(name=_("Store name"))
    if row.kind == "customer_survey":
        posted = survey_forms.parse(instrument, request.form) if request.method == "POST" else None
        if posted is not None and posted.ok:
            return render_template("public/thanks.html", store=store, case=None, due_hours=0)
        return render_template(
            "public/survey.html", token="preview", store=store, instrument=instrument,
            rows=survey_forms.rows(instrument, str(get_locale()), posted),
            uuid=str(uuid_module.uuid4()), errors=posted.errors if posted else {},
            phone=posted.phone if posted else "", call_back=posted.call_back if posted else False,
            form_action=request.path), 400 if posted else 200
    today = clock.today()
    assignment = SimpleNamespace(id=0, window_start=today, window_end=today + timedelta(days=6))
    form = build_form(instrument, str(get_locale()))
    form.uuid.data = str(uuid_module.uuid4())
    return render_template(
        "publishing/preview_checklist.html", form=form, instrument=instrument,
        assignment=assignment, store=store, version=row, response=None, evidence={},
        field_name=field_name, errors={}, today=today,
        conditions={i.id: i.condition for i in instrument.items() if i.condition is not None},
        labels=queries.touchpoint_labels(db.session()))


@bp.route("/<int:version_id>/publish", methods=["POST"])
@roles_required("admin")
def publish(version_id: int):
    session = db.session()
    row = _version_or_404(version_id)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    effective = form.effective_on.data or clock.today()
    if effective < clock.today():
        flash(_("The effective date cannot lie in the past."), "error")
        return redirect(url_for("publishing.show", version_id=row.id))
    try:
        publish_version(session, row, approved_by=current_user.id, effective_on=effective)
    except NotPublishable:
        abort(409)
    session.commit()
    flash(_("Published: %(id)s v%(version)d, effective %(day)s.", id=row.instrument_id,
            version=row.version, day=effective.isoformat()))
    return redirect(url_for("publishing.show", version_id=row.id))
