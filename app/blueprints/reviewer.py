"""Reviewers (QA) check each shopper report before it counts."""

from __future__ import annotations

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
from wtforms import TextAreaField
from wtforms.validators import Length

from .. import actions, db, queries, review, shopping
from ..auth import roles_required
from ..domain.geo import distance_m
from ..errors import abort_with
from ..history import of_response as history
from ..instruments import definition
from ..models import InstrumentVersion, Photo, Response, Store, User
from ..photos import read_photo
from ..responses import stored_answers, stored_scores
from ..storage import storage

bp = Blueprint("reviewer", __name__, url_prefix="/review")


class DecisionForm(FlaskForm):
    comment = TextAreaField(validators=[Length(max=2000)])


class ValidityForm(FlaskForm):
    reason = TextAreaField(validators=[Length(max=2000)])


@bp.route("/")
@roles_required("reviewer", "admin")
def index():
    return render_template("reviewer/index.html", rows=queries.review_queue(db.session()))


def get_report_or_404(response_id: int) -> Response:
    response = db.session().get(Response, response_id)
    if response is None or response.kind != "mystery_shop" or response.status == "draft":
        abort(404)
    return response


@bp.route("/r/<int:response_id>")
@roles_required("reviewer", "admin")
def show(response_id: int):
    return _page(get_report_or_404(response_id), DecisionForm())


def _page(response, form, validity=None):
    session = db.session()
    version = session.get(InstrumentVersion, response.instrument_version_id)
    return render_template(
        "reviewer/show.html", response=response, version=version, instrument=definition(version),
        store=session.get(Store, response.store_id),
        shopper=session.get(User, response.shopper_id) if response.shopper_id else None,
        answers=stored_answers(session, response.id), scores=stored_scores(session, response.id),
        evidence=shopping.stored_evidence(session, response.id),
        labels=queries.touchpoint_labels(session), form=form,
        validity=validity or ValidityForm(), may_invalidate=review.MAY_INVALIDATE,
        history=history(session, response.id), show_appeal_reasons=True,
        positions=_positions(response, session.get(Store, response.store_id)),
        flag_m=current_app.config["VISIT_DISTANCE_FLAG_M"],
    )


def _positions(response: Response, store: Store) -> list[tuple[str, float | None, float | None]]:
    """(moment, distance to the store in metres or None, accuracy) for each recorded fix."""
    out = []
    for moment, lat, lon, accuracy in (
            ("start", response.start_lat, response.start_lon, response.start_accuracy),
            ("submit", response.submit_lat, response.submit_lon, response.submit_accuracy)):
        if lat is None or lon is None:
            continue
        far = None if store.latitude is None or store.longitude is None else distance_m(
            lat, lon, store.latitude, store.longitude)
        out.append((moment, far, accuracy))
    return out


@bp.route("/r/<int:response_id>/decide", methods=["POST"])
@roles_required("reviewer", "admin")
def decide(response_id: int):
    response = get_report_or_404(response_id)
    form = DecisionForm()
    action = request.form.get("action")
    if not form.validate() or action not in ("approve", "return"):
        abort(400)
    if action == "return" and not (form.comment.data or "").strip():
        # said next to the comment box, where the reviewer is, not at the top of the page
        form.comment.errors = [_("Say what the shopper should change when returning a report.")]
        return _page(response, form), 422
    try:
        review.decide(db.session(), response, current_user, approve=action == "approve",
                      comment=form.comment.data or "",
                      settings=actions.Settings.of(current_app.config))
    except review.NotReviewable:
        abort_with(409, _("This report was already decided and can no longer be changed."))
    flash(_("Report approved: it now counts.") if action == "approve"
          else _("Report returned to the shopper."), "ok")
    return redirect(url_for("reviewer.index"), code=303)


@bp.route("/r/<int:response_id>/<any(invalid, valid):state>", methods=["POST"])
@roles_required("reviewer", "admin")
def mark(response_id: int, state: str):
    """Mark a report invalid (it counts nowhere; a reason is required) or count it again."""
    response = get_report_or_404(response_id)
    validity = ValidityForm()
    if not validity.validate():
        abort(400)
    reason = (validity.reason.data or "").strip()
    if state == "invalid" and not reason:
        validity.reason.errors = [_("Say why the report is invalid.")]
        return _page(response, DecisionForm(), validity), 422
    try:
        (review.mark_invalid if state == "invalid" else review.mark_valid)(
            db.session(), response, current_user, reason)
    except review.NotReviewable:
        abort_with(409, _("This report cannot be marked so in its present state."))
    flash(_("Marked invalid: this report now counts nowhere.") if state == "invalid"
          else _("Counted again."), "ok")
    return redirect(url_for("reviewer.show", response_id=response.id), code=303)


@bp.route("/photos/<sha256>")
@roles_required("admin", "reviewer", "manager", "shopper")
def photo(sha256: str):
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        abort(404)
    if not review.may_see_photo(db.session(), current_user, sha256):
        abort(404)
    thumb = request.args.get("thumb") == "1"
    data = read_photo(storage(), sha256, thumb=thumb)
    if data is None:
        abort(404)
    mime = "image/jpeg" if thumb else db.session().get(Photo, sha256).mime
    response = current_app.response_class(data, mimetype=mime)
    response.headers["Cache-Control"] = "private, max-age=86400"  # content-addressed: never changes
    return response
