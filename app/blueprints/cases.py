"""Follow-up cases opened by unhappy customer answers (closed loop).

Managers see the cases of their stores (app/scope.py), admins every case: open ones most
urgent first with the overdue ones flagged, the customer's answers, and forms to record the
contact and to close the case with its resolution.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import cases, db
from ..auth import roles_required
from ..instruments import definition
from ..models import InstrumentVersion, Response
from ..responses import stored_answers
from ..scope import visible_store_ids

bp = Blueprint("cases", __name__, url_prefix="/cases")


def _scope():
    return visible_store_ids(db.session(), current_user)


def get_case_or_404(case_id: int) -> cases.CaseRow:
    """A case in the user's scope; another store's case is a 404 (no existence leak)."""
    row = cases.get(db.session(), case_id, _scope())
    if row is None:
        abort(404)
    return row


@bp.route("/")
@roles_required("admin", "manager")
def index():
    session = db.session()
    status = "closed" if request.args.get("status") == "closed" else "open"
    return render_template(
        "cases/index.html", rows=cases.listing(session, _scope(), status=status),
        status=status, totals=cases.counts(session, _scope()),
    )


def _show(row: cases.CaseRow, errors: dict[str, str] | None = None, status: int = 200):
    session = db.session()
    response = session.get(Response, row.case.response_id)
    instrument = definition(session.get(InstrumentVersion, response.instrument_version_id))
    answers = stored_answers(session, response.id)
    shown = [(item, answers[item.id]) for item in instrument.items() if item.id in answers]
    return render_template("cases/show.html", row=row, response=response, answers=shown,
                           errors=errors or {}), status


@bp.route("/<int:case_id>")
@roles_required("admin", "manager")
def show(case_id: int):
    return _show(get_case_or_404(case_id))


@bp.route("/<int:case_id>/<any(contact, close):action>", methods=["POST"])
@roles_required("admin", "manager")
def update(case_id: int, action: str):
    row = get_case_or_404(case_id)
    field = "note" if action == "contact" else "resolution"
    try:
        if action == "contact":
            cases.record_contact(db.session(), row.case, current_user, request.form.get(field, ""))
        else:
            cases.close(db.session(), row.case, current_user, request.form.get(field, ""))
    except cases.CaseError as error:
        if error.code == "closed":
            return _show(row, {field: _("This case is already closed.")}, 409)
        return _show(row, {field: _("Please write what was done.")}, 400)
    flash(_("Contact recorded.") if action == "contact" else _("Case closed."), "ok")
    return redirect(url_for("cases.show", case_id=case_id), 303)
