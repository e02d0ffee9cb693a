"""Admins plan monthly rounds (preview, then commit), follow their progress and change
assignments in bulk."""

from __future__ import annotations

import secrets
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from .. import db
from ..auth import roles_required
from ..calibration import queries as calibration_queries
from ..exports import XLSX_MIME
from ..instruments import active_versions
from ..models import Region, Round, Store, User
from ..network.exporter import table_bytes
from . import service

bp = Blueprint("rounds", __name__, url_prefix="/admin/rounds")


class RoundForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    period_start = DateField(_l("Period from"), validators=[DataRequired()])
    period_end = DateField(_l("Period until"), validators=[DataRequired()])
    version_id = SelectField(_l("Checklist"), coerce=int, validators=[DataRequired()])
    quota = IntegerField(_l("Visits per store"), default=2, validators=[NumberRange(1, 10)])
    overrides = StringField(_l("Per-region visits (e.g. east=3; sh=1)"),
                            validators=[Optional(), Length(max=2000)])
    exclusion_months = IntegerField(_l("Same shopper not again within (months)"), default=3,
                                    validators=[NumberRange(0, 24)])
    window_days = IntegerField(_l("Visit window (days)"), default=3,
                               validators=[NumberRange(1, 31)])
    seed = HiddenField()

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.version_id.choices = [
            SelectChoice(v.id, f"{v.title_zh} · {v.title_en} v{v.version}")
            for v in active_versions(session, "mystery_shop")]
        self.region_quota: dict[int, int] = {}

    def validate_period_end(self, field):
        if self.period_start.data and field.data and field.data < self.period_start.data:
            raise ValidationError(_("The period must end on or after its first day."))

    def validate_overrides(self, field):
        parts = [p.strip() for p in (field.data or "").replace("；", ";").split(";")
                 if p.strip()]
        codes = dict(self.session.exec(select(Region.code, Region.id)).all())
        for part in parts:
            code, _sep, number = part.partition("=")
            code, number = code.strip(), number.strip()
            if code not in codes:
                raise ValidationError(_("Unknown region %(code)s.", code=code))
            if not number.isdigit() or int(number) > 10:
                raise ValidationError(_("%(code)s: visits must be a number from 0 to 10.",
                                        code=code))
            self.region_quota[codes[code]] = int(number)

    def spec(self) -> service.RoundSpec:
        return service.RoundSpec(
            self.name.data, self.period_start.data, self.period_end.data, self.version_id.data,
            self.quota.data, self.exclusion_months.data, self.window_days.data,
            self.region_quota, int(self.seed.data))


class BulkForm(FlaskForm):
    action = SelectField(choices=[SelectChoice("cancel", _l("Cancel")),
                                  SelectChoice("reassign", _l("Reassign to"))])
    shopper_id = SelectField(coerce=int, validators=[Optional()])


def _shopper_choices(session) -> list[SelectChoice]:
    rows = session.exec(select(User).where(User.role == "shopper", User.active)
                        .order_by(User.username))
    return [SelectChoice(u.id, f"{u.display_name or u.username} ({u.username})") for u in rows]


@bp.route("/")
@roles_required("admin")
def index():
    session = db.session()
    form = RoundForm(session)
    if not form.is_submitted():
        form.period_start.data, form.period_end.data = service.default_period(date.today())
        form.name.data = form.period_start.data.strftime("%Y-%m")
    plans = calibration_queries.plans(session)
    if not form.is_submitted():
        form.quota.data = service.suggested_quota(plans, _stage_of_first(session, form),
                                                  form.quota.data)
    rounds = session.exec(select(Round).order_by(Round.period_start.desc(), Round.id.desc())
                          .limit(50)).all()
    return render_template("rounds/index.html", form=form, rounds=rounds, plans=plans)


def _stage_of_first(session, form: RoundForm) -> str | None:
    """The stage of the checklist the form offers first (its default choice)."""
    versions = active_versions(session, "mystery_shop")
    return versions[0].stage if versions else None


@bp.route("/preview", methods=["POST"])
@roles_required("admin")
def preview():
    session = db.session()
    form = RoundForm(session)
    if not form.seed.data or not form.seed.data.isdigit():
        form.seed.data = str(secrets.randbelow(2**31))
    if not form.validate_on_submit():
        rounds = session.exec(select(Round).order_by(Round.id.desc()).limit(50)).all()
        return render_template("rounds/index.html", form=form, rounds=rounds), 400
    plan = service.make_plan(session, form.spec())
    stores = {s.id: s for s in session.exec(select(Store).where(Store.id.in_(
        {v.store_id for v in plan.visits} | {s.store_id for s in plan.shortfalls})))}
    shoppers = {u.id: u for u in session.exec(select(User).where(User.role == "shopper"))}
    return render_template("rounds/preview.html", form=form, plan=plan, stores=stores,
                           shoppers=shoppers, reasons=REASONS)


REASONS = {
    "no_shopper": _l("no shopper has a home region above this store"),
    "conflict": _l("every shopper of the region is marked as conflicting"),
    "excluded": _l("the other shoppers visited it recently"),
    "capacity": _l("the shoppers of the region are fully booked"),
}


@bp.route("/commit", methods=["POST"])
@roles_required("admin")
def commit():
    session = db.session()
    form = RoundForm(session)
    if not form.validate_on_submit() or not (form.seed.data or "").isdigit():
        abort(400)
    round_, plan = service.commit_round(session, form.spec(), current_user.id)
    flash(_("Round planned: %(n)d visits.", n=len(plan.visits)))
    return redirect(url_for("rounds.show", round_id=round_.id))


def _round_or_404(round_id: int) -> Round:
    round_ = db.session().get(Round, round_id)
    if round_ is None:
        abort(404)
    return round_


@bp.route("/<int:round_id>")
@roles_required("admin")
def show(round_id: int):
    session = db.session()
    round_ = _round_or_404(round_id)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
    rows = service.progress(session, round_id)
    assignments, total = service.round_assignments(session, round_id, page)
    bulk = BulkForm()
    bulk.shopper_id.choices = _shopper_choices(session)
    return render_template("rounds/show.html", round=round_, rows=rows,
                           totals=service.totals(rows), states=service.STATES,
                           assignments=assignments, total=total, page=page, bulk=bulk)


@bp.route("/<int:round_id>/bulk", methods=["POST"])
@roles_required("admin")
def bulk(round_id: int):
    session = db.session()
    _round_or_404(round_id)
    form = BulkForm()
    form.shopper_id.choices = _shopper_choices(session)
    ids = [int(i) for i in request.form.getlist("assignment") if i.isdigit()]
    if not form.validate_on_submit():
        abort(400)
    if form.action.data == "reassign":
        if not form.shopper_id.data:
            abort(400)
        n = service.reassign(session, round_id, ids, form.shopper_id.data)
    else:
        n = service.cancel(session, round_id, ids)
    skipped = len(ids) - n
    flash(_("%(n)d assignments changed; %(skipped)d left as they were (already started, "
            "or the shopper has that store).", n=n, skipped=skipped))
    return redirect(url_for("rounds.show", round_id=round_id))


@bp.route("/<int:round_id>/progress.<fmt>")
@roles_required("admin")
def export(round_id: int, fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    _round_or_404(round_id)
    table = service.board_table(service.progress(db.session(), round_id))
    body = table_bytes(table, xlsx=fmt == "xlsx", title="progress")
    mime = XLSX_MIME if fmt == "xlsx" else "text/csv; charset=utf-8"
    return body, 200, {"Content-Type": mime, "Content-Disposition":
                       f'attachment; filename="round-{round_id}-progress.{fmt}"'}
