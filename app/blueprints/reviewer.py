"""Reviewers (QA) check each shopper report before it counts."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import db, queries
from ..auth import roles_required

bp = Blueprint("reviewer", __name__, url_prefix="/review")


@bp.route("/")
@roles_required("reviewer", "admin")
def index():
    return render_template("reviewer/index.html", rows=queries.review_queue(db.session()))
