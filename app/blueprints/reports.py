"""Store scorecards, region leagues and their monthly PDFs, scoped like the dashboard:
another region's store is a 404 (nothing of it shown), another region a 403. Reviewers and
shoppers have no access; the per-visit PDF is for the store's managers once approved."""

from __future__ import annotations

import re
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select

from .. import charts, db, reports, scorecards
from ..auth import roles_required
from ..domain.ranking import month_period, parse_period
from ..instruments import definition
from ..models import InstrumentVersion, Region, ReportBatch, Response, Store, Touchpoint, User
from ..queries import touchpoint_labels
from ..responses import stored_answers, stored_scores
from ..scope import visible_store_ids
from ..shopping import stored_evidence

bp = Blueprint("reports", __name__)
MANAGERS = ("admin", "manager")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _locale() -> str:
    return str(get_locale() or "zh")


def _month(text: str | None, *, store_ids: set[int] | None = None):
    """The month asked for; without one, the latest month with an approved mystery shop of
    the stores (early in a month the current one is still empty), else this month."""
    if text is None:
        latest = scorecards.latest_shop_day(db.session(), store_ids or set())
        return month_period(latest or date.today())
    if not MONTH.match(text):
        abort(404)
    return parse_period(text, today=date.today())


def get_store_or_404(code: str) -> Store:
    session = db.session()
    store = session.exec(select(Store).where(Store.code == code)).first()
    visible = visible_store_ids(session, current_user)
    if store is None or (visible is not None and store.id not in visible):
        abort(404)
    return store


def get_region_or_403(code: str) -> Region:
    session = db.session()
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None:
        abort(404)
    visible = visible_store_ids(session, current_user)
    if visible is not None:
        members = set(session.exec(select(Store.id).where(Store.region_id == region.id)))
        if not members or not members <= visible:
            abort(403)
    return region


def _card(store: Store, period, *, failures: bool = False):
    config = current_app.config
    return scorecards.store_card(db.session(), store, period, k=config["SHRINKAGE_K"],
                                 grades=config["GRADES"], with_failures=failures,
                                 fits=reports.period_fits(db.session(), period))


@bp.route("/scorecards/")
@roles_required(*MANAGERS)
def index():
    """Where a manager's scorecards start: their region's league, or their store's card;
    admins choose a region."""
    session = db.session()
    if current_user.role == "manager" and current_user.region_id is not None:
        region = session.get(Region, current_user.region_id)
        return redirect(url_for("reports.region_page", code=region.code))
    visible = visible_store_ids(session, current_user)
    if visible is not None:
        stores = list(session.exec(select(Store).where(Store.id.in_(visible or {-1}))
                                   .order_by(Store.code)))
        if len(stores) == 1:
            return redirect(url_for("reports.store_page", code=stores[0].code))
        return render_template("scorecards/index.html", regions=[], stores=stores)
    return render_template("scorecards/index.html", stores=[],
                           regions=list(session.exec(select(Region).order_by(Region.code))))


@bp.route("/scorecards/stores/<code>")
@roles_required(*MANAGERS)
def store_page(code: str):
    store = get_store_or_404(code)
    period = _month(request.args.get("period"), store_ids={store.id})
    card = _card(store, period)
    return render_template("scorecards/store.html", card=card, pdf=False,
                           chart=reports.store_chart(card, _locale(), pdf=False),
                           trend=reports.scorecards_trend(card),
                           photo_src=lambda sha, thumb=True: url_for(
                               "reviewer.photo", sha256=sha, thumb=1 if thumb else None))


@bp.route("/scorecards/regions/<code>")
@roles_required(*MANAGERS)
def region_page(code: str):
    region = get_region_or_403(code)
    period = _month(request.args.get("period"), store_ids=set(db.session().exec(
        select(Store.id).where(Store.region_id == region.id))))
    return render_template("scorecards/region.html", pdf=False, **_region_context(region, period))


def _region_context(region: Region, period) -> dict:
    config = current_app.config
    card = scorecards.region_card(db.session(), region, period, k=config["SHRINKAGE_K"],
                                  grades=config["GRADES"], small_n=config["SMALL_SAMPLE"],
                                  fits=reports.period_fits(db.session(), period))
    return {"card": card, "heat_style": charts.heat_style, "legend": charts.legend_swatches(),
            "labels": touchpoint_labels(db.session())}


def _pdf(data: bytes, name: str):
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@bp.route("/reports/stores/<code>/<month>.pdf")
@roles_required(*MANAGERS)
def store_pdf(code: str, month: str):
    store = get_store_or_404(code)
    return _pdf(reports.store_pdf(db.session(), store, _month(month), locale=_locale()),
                f"{store.code}-{month}.pdf")


@bp.route("/reports/regions/<code>/<month>.pdf")
@roles_required(*MANAGERS)
def region_pdf(code: str, month: str):
    region = get_region_or_403(code)
    context = _region_context(region, _month(month))
    return _pdf(reports.render("reports/region_pdf.html", **context), f"{region.code}-{month}.pdf")


@bp.route("/reports/visits/<int:response_id>.pdf")
@roles_required(*MANAGERS)
def visit_pdf(response_id: int):
    session = db.session()
    found = session.get(Response, response_id)
    visible = visible_store_ids(session, current_user)
    if (found is None or found.kind != "mystery_shop" or found.status != "approved"
            or (visible is not None and found.store_id not in visible)):
        abort(404)
    version = session.get(InstrumentVersion, found.instrument_version_id)
    data = reports.render(
        "reports/visit_pdf.html", response=found, store=session.get(Store, found.store_id),
        version=version, instrument=definition(version), answers=stored_answers(session, found.id),
        scores=stored_scores(session, found.id), evidence=stored_evidence(session, found.id),
        labels=touchpoint_labels(session),
        shopper=session.get(User, found.shopper_id) if found.shopper_id else None)
    return _pdf(data, f"visit-{found.id}.pdf")


@bp.route("/reports/regions/<code>/<month>/batch", methods=["POST"])
@roles_required(*MANAGERS)
def start_batch(code: str, month: str):
    region = get_region_or_403(code)
    _month(month)
    if not FlaskForm().validate():
        abort(400)
    batch = reports.start_batch(db.session(), region=region, month=month,
                                user_id=current_user.id)
    return redirect(url_for("reports.batch", batch_id=batch.id), 303)


def get_batch_or_404(batch_id: int) -> ReportBatch:
    batch = db.session().get(ReportBatch, batch_id)
    if batch is None:
        abort(404)
    get_region_or_403(db.session().get(Region, batch.region_id).code)
    return batch


@bp.route("/reports/batches/<int:batch_id>")
@roles_required(*MANAGERS)
def batch(batch_id: int):
    found = get_batch_or_404(batch_id)
    template = "reports/_batch.html" if request.headers.get("HX-Request") else \
        "reports/batch.html"
    return render_template(template, batch=found,
                           region=db.session().get(Region, found.region_id))


@bp.route("/reports/batches/<int:batch_id>.zip")
@roles_required(*MANAGERS)
def batch_zip(batch_id: int):
    found = get_batch_or_404(batch_id)
    if found.status != "done":
        abort(404)
    return send_file(found.path, mimetype="application/zip", as_attachment=True,
                     download_name=f"reports-{found.month}.zip")


@bp.route("/scorecards/targets")
@roles_required("admin")
def targets(errors: str | None = None, status: int = 200):
    session = db.session()
    return render_template("scorecards/targets.html", rows=scorecards.target_rows(session),
                           touchpoints=list(session.exec(select(Touchpoint).order_by(
                               Touchpoint.stage, Touchpoint.position))),
                           error=errors, form=FlaskForm()), status


@bp.route("/scorecards/targets", methods=["POST"])
@roles_required("admin")
def set_target():
    if not FlaskForm().validate():
        abort(400)
    form = request.form
    try:
        value = float(form.get("target", ""))
        scorecards.set_target(db.session(), touchpoint_id=form.get("touchpoint", ""),
                              level=form.get("level", ""), code=form.get("code", ""),
                              value=value)
    except (ValueError, scorecards.TargetError) as error:
        db.session().rollback()
        code = getattr(error, "code", "value")
        return targets(errors={
            "touchpoint": _("Choose a touchpoint from the list."),
            "place": _("No region or store has this code."),
            "value": _("A target is a number from 0 to 100."),
        }[code], status=400)
    flash(_("Target saved."), "ok")
    return redirect(url_for("reports.targets"), 303)
