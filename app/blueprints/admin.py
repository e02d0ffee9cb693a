"""The quality department: instruments, network, users."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlmodel import select

from .. import clock, db, queries
from ..auth import roles_required
from ..instruments import activate_due, in_use
from ..models import InstrumentVersion, User
from ..publishing.views import overdue_reviews

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@roles_required("admin")
def index():
    session = db.session()
    if activate_due(session):  # the `active` mirror, for SQL readers (the app reads by date)
        session.commit()
    today = clock.today()
    versions = session.exec(
        select(InstrumentVersion).order_by(InstrumentVersion.instrument_id,
                                           InstrumentVersion.version.desc())
    ).all()
    users = session.exec(select(User).order_by(User.role, User.username)).all()
    return render_template(
        "admin/index.html", versions=versions, users=users, in_use=in_use(session, today),
        counts=queries.counts_overview(session),
        overdue=overdue_reviews(session, today),
    )
