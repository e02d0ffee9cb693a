"""Pages of the calibration: the admins' variance components and sample-size planner
(/admin/calibration), the reviewers' shopper quality (/review/shoppers)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from .. import db
from ..auth import roles_required
from ..domain.ranking import parse_period, recent_periods
from ..models import CALIBRATION_STAGES
from . import about, compute, fits, shoppers

bp = Blueprint("calibration", __name__)


@bp.app_template_global()
def ordinal(n: int) -> str:
    """A rank as the language writes it: 12th in English; the Chinese text adds 第…名 itself."""
    if not str(get_locale() or "zh").startswith("en"):
        return str(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _period():
    """The period asked for (a month or quarter key), else the dashboard's default."""
    period = parse_period(request.args.get("period") or None, today=date.today())
    if period is None:
        abort(404)
    return period


@bp.route("/admin/calibration")
@roles_required("admin")
def planner():
    period = _period()
    session = db.session()
    found = fits.for_stages(session, CALIBRATION_STAGES, period.start, period.end,
                            today=date.today())
    stages = [(stage, fit, about.about(session, fit.id, stage) if fit else [])
              for stage, fit in found.items()]
    return render_template("calibration/planner.html", period=period, stages=stages,
                           periods=recent_periods(date.today()), form=FlaskForm())


@bp.route("/admin/calibration/fit", methods=["POST"])
@roles_required("admin")
def fit_now():
    """Ask for fits of the period now (they run in the background)."""
    if not FlaskForm().validate():
        abort(400)
    period = _period()
    rolling = request.args.get("period") is None
    for stage in CALIBRATION_STAGES:
        compute.request(stage, period.start, period.end, rolling=rolling)
    flash(_("The calibration is being computed; reload this page in a minute."), "ok")
    return redirect(url_for("calibration.planner", period=request.args.get("period")), 303)


@bp.route("/review/shoppers")
@roles_required("reviewer", "admin")
def shopper_quality():
    period = _period()
    session = db.session()
    fit = fits.for_view(session, "all", period.start, period.end, today=date.today())
    rows = shoppers.shopper_quality(session, period.start, period.end, fit.id if fit else None)
    return render_template("calibration/shoppers.html", period=period, fit=fit, rows=rows,
                           periods=recent_periods(date.today()),
                           straight_flag=shoppers.STRAIGHT_FLAG)
