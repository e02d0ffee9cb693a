"""Admins and managers: QR codes, printable posters and table cards per store and customer
survey, sheets of single-use codes for invoices, and (admins) marking suspect answers invalid.
Managers see only their stores (app/scope.py)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlmodel import select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .. import db, posters, public_survey, queries_qr, review
from ..auth import roles_required
from ..instruments import active_versions
from ..models import Response as SurveyResponse
from ..models import Store, SurveyTokenBatch
from ..scope import can_see_store, visible_store_ids

bp = Blueprint("qr", __name__, url_prefix="/qr")


class BatchForm(FlaskForm):
    store_id = SelectField(_l("Store"), coerce=int, validators=[DataRequired()])
    instrument_id = SelectField(_l("Survey"), validators=[DataRequired()])
    count = IntegerField(_l("Number of codes (without order numbers)"),
                         validators=[Optional(), NumberRange(1, posters.MAX_CODES)])
    orders = FileField(_l("Or a CSV file of order numbers (first column)"))
    label = StringField(_l("Label (optional)"), validators=[Optional(), Length(max=200)])


def _stores():
    session = db.session()
    allowed = visible_store_ids(session, current_user)
    query = select(Store).where(Store.active).order_by(Store.code)
    if allowed is not None:
        query = query.where(Store.id.in_(allowed or {-1}))
    return session.exec(query).all()


def _surveys():
    return {v.instrument_id: v for v in active_versions(db.session(), "customer_survey")}


def get_target_or_404(store_id: int, instrument_id: str):
    """A store in the user's scope (else 403) and an active customer survey (else 404)."""
    session = db.session()
    store = session.get(Store, store_id)
    version = _surveys().get(instrument_id)
    if store is None or version is None:
        abort(404)
    if not can_see_store(session, current_user, store.id):
        abort(403)
    return store, version


def _batch_form():
    form = BatchForm()
    form.store_id.choices = [(s.id, f"{s.code} {s.name}") for s in _stores()]
    english = str(get_locale()) == "en"
    form.instrument_id.choices = [(k, v.title_en if english else v.title_zh)
                                  for k, v in _surveys().items()]
    return form


@bp.route("/")
@roles_required("admin", "manager")
def index():
    session = db.session()
    stores, surveys = _stores(), _surveys()
    links = {(s.id, key): posters.store_token(s.id, key) for s in stores for key in surveys}
    return render_template(
        "qr/index.html", stores=stores, surveys=surveys, form=_batch_form(), links=links,
        batches=queries_qr.recent_batches(session, visible_store_ids(session, current_user)),
    )


@bp.route("/<int:store_id>/<instrument_id>/code.svg")
@roles_required("admin", "manager")
def code_svg(store_id: int, instrument_id: str):
    store, _version = get_target_or_404(store_id, instrument_id)
    url = posters.survey_url(posters.store_token(store.id, instrument_id))
    return Response(posters.qr_svg(url), mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="qr-{store.code}-{instrument_id}.svg"'})


@bp.route("/<int:store_id>/<instrument_id>/<any(poster, card):kind>.pdf")
@roles_required("admin", "manager")
def printable(store_id: int, instrument_id: str, kind: str):
    store, version = get_target_or_404(store_id, instrument_id)
    code = posters.code_for(posters.store_token(store.id, instrument_id))
    pdf = posters.render_pdf(f"reports/{kind}.html", store=store, version=version, code=code)
    return _pdf(pdf, f"{kind}-{store.code}-{instrument_id}.pdf")


def _pdf(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _references(form: BatchForm) -> list[str]:
    """The order numbers (or blank references) the valid form asks for; errors on the form."""
    if not form.validate():
        return []
    upload = form.orders.data
    try:
        if upload and getattr(upload, "filename", ""):
            return posters.references_from_csv(upload.read(2 * 1024 * 1024))
    except posters.ReferenceListError as error:
        form.orders.errors = [str(error)]
        return []
    if form.count.data:
        return [""] * form.count.data
    form.count.errors = [_("Give a number of codes or a CSV file.")]
    return []


@bp.route("/batches", methods=["POST"])
@roles_required("admin", "manager")
def create_batch():
    session = db.session()
    form = _batch_form()
    scope = visible_store_ids(session, current_user)
    if scope is not None and form.store_id.data not in scope:
        abort(403)  # a store outside the manager's scope is forbidden, not merely invalid
    references = _references(form) if form.is_submitted() else []
    if not references:
        return render_template(
            "qr/index.html", stores=_stores(), surveys=_surveys(), form=form, links={},
            batches=queries_qr.recent_batches(session, scope),
        ), 400
    store, _version = get_target_or_404(form.store_id.data, form.instrument_id.data)
    batch = public_survey.create_batch(
        session, store=store, instrument_id=form.instrument_id.data, references=references,
        label=form.label.data or "", user_id=current_user.id, days=_config("QR_VISIT_DAYS"),
    )
    return redirect(url_for("qr.batch", batch_id=batch.id), 303)


def _config(key: str):
    from flask import current_app

    return current_app.config[key]


def get_batch_or_404(batch_id: int) -> tuple[SurveyTokenBatch, Store]:
    session = db.session()
    batch = session.get(SurveyTokenBatch, batch_id)
    if batch is None:
        abort(404)
    if not can_see_store(session, current_user, batch.store_id):
        abort(403)
    return batch, session.get(Store, batch.store_id)


@bp.route("/batches/<int:batch_id>")
@roles_required("admin", "manager")
def batch(batch_id: int):
    batch, store = get_batch_or_404(batch_id)
    rows = public_survey.batch_codes(db.session(), batch)
    return render_template("qr/batch.html", batch=batch, store=store, rows=rows,
                           version=_surveys().get(batch.instrument_id))


@bp.route("/batches/<int:batch_id>/sheet.pdf")
@roles_required("admin", "manager")
def sheet(batch_id: int):
    batch, store = get_batch_or_404(batch_id)
    codes = [posters.code_for(token, row.reference)
             for row, token in public_survey.batch_codes(db.session(), batch) if row.used_at is None]
    pdf = posters.render_pdf("reports/sheet.html", store=store, batch=batch, codes=codes,
                             version=_surveys().get(batch.instrument_id))
    return _pdf(pdf, f"codes-{store.code}-{batch.id}.pdf")


@bp.route("/responses")
@roles_required("admin")
def responses():
    return render_template("qr/responses.html",
                           rows=queries_qr.recent_qr_responses(db.session()))


@bp.route("/responses/<int:response_id>/<any(invalid, valid):state>", methods=["POST"])
@roles_required("admin")
def mark(response_id: int, state: str):
    session = db.session()
    response = session.get(SurveyResponse, response_id)
    if response is None or response.channel != "qr":
        abort(404)
    if (response.status == "invalid") != (state == "invalid"):  # a repeated click changes nothing
        # recorded in the answer's history with who and when, like a reviewer's mark
        (review.mark_invalid if state == "invalid" else review.mark_valid)(
            session, response, current_user)
    flash(_("Marked invalid: this answer now counts nowhere.") if state == "invalid"
          else _("Counted again."))
    return redirect(url_for("qr.responses"), 303)
