"""The quality department: instruments, network, users."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlmodel import select

from .. import db, queries
from ..auth import roles_required
from ..models import InstrumentVersion, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@roles_required("admin")
def index():
    session = db.session()
    versions = session.exec(
        select(InstrumentVersion).order_by(InstrumentVersion.instrument_id,
                                           InstrumentVersion.version.desc())
    ).all()
    users = session.exec(select(User).order_by(User.role, User.username)).all()
    return render_template(
        "admin/index.html", versions=versions, users=users,
        counts=queries.counts_overview(session),
    )
