"""Managers: the short board of their scope."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from .. import db, queries
from ..auth import roles_required
from ..scope import visible_store_ids

bp = Blueprint("manager", __name__, url_prefix="/manager")

KINDS = ("mystery_shop", "customer_survey")
STAGES = ("sales", "aftersales")


@bp.route("/")
@roles_required("manager", "admin")
def index():
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else KINDS[0]
    stage = request.args.get("stage") if request.args.get("stage") in STAGES else STAGES[0]
    end = date.today()
    start = end - timedelta(days=90)
    session = db.session()
    store_ids = visible_store_ids(session, current_user)
    rows = queries.short_board(
        session, kind=kind, stage=stage, start=start, end=end, store_ids=store_ids
    )
    context = {
        "rows": rows,
        "kind": kind,
        "stage": stage,
        "kinds": KINDS,
        "stages": STAGES,
        "start": start,
        "end": end,
        "small_sample": current_app.config["SMALL_SAMPLE"],
        "stores": queries.stores_in_scope(session, store_ids),
    }
    return render_template("manager/index.html", **context)
