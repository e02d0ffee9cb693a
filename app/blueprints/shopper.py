"""The mystery shopper's phone pages."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from flask_login import current_user

from .. import db, queries
from ..auth import roles_required

bp = Blueprint("shopper", __name__, url_prefix="/shopper")


def assignment_state(assignment, response, today: date) -> str:
    """due | overdue | returned | submitted | approved, as the shopper's home groups them."""
    if response is not None and response.status in ("submitted", "approved", "returned"):
        return response.status
    return "overdue" if assignment.window_end < today else "due"


@bp.route("/")
@roles_required("shopper")
def index():
    today = date.today()
    rows = [
        {"assignment": a, "store": s, "version": v, "state": assignment_state(a, r, today)}
        for a, s, v, r in queries.assignments_for_shopper(db.session(), current_user.id)
    ]
    return render_template("shopper/index.html", rows=rows)
