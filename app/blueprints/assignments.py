"""Admins, and managers within their scope, assign store visits to mystery shoppers."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from .. import db, queries
from ..auth import roles_required
from ..instruments import active_versions
from ..models import Assignment, InstrumentVersion, User
from ..scope import visible_store_ids

bp = Blueprint("assignments", __name__, url_prefix="/assignments")


class AssignmentForm(FlaskForm):
    store_id = SelectField(_l("Store"), coerce=int, validators=[DataRequired()])
    version_id = SelectField(_l("Checklist"), coerce=int, validators=[DataRequired()])
    shopper_id = SelectField(_l("Mystery shopper"), coerce=int, validators=[DataRequired()])
    window_start = DateField(_l("Visit from"), validators=[DataRequired()])
    window_end = DateField(_l("Visit until"), validators=[DataRequired()])
    note = TextAreaField(_l("Note for the shopper"), validators=[Length(max=500)])

    def validate_window_end(self, field):
        if self.window_start.data and field.data and field.data < self.window_start.data:
            from wtforms.validators import ValidationError

            raise ValidationError(_("The window must end on or after its first day."))


def _form(session) -> AssignmentForm:
    form = AssignmentForm()
    scope = visible_store_ids(session, current_user)
    stores = queries.stores_in_scope(session, scope)
    form.store_id.choices = [SelectChoice(s.id, f"{s.name} ({r.name})") for s, r in stores]
    form.version_id.choices = [
        SelectChoice(v.id, f"{v.title_en if _is_en() else v.title_zh} v{v.version}")
        for v in active_versions(session, "mystery_shop")
    ]
    shoppers = session.exec(select(User).where(User.role == "shopper", User.active)
                            .order_by(User.display_name)).all()
    form.shopper_id.choices = [SelectChoice(u.id, u.display_name or u.username) for u in shoppers]
    if form.window_start.data is None and not form.is_submitted():
        form.window_start.data = date.today()
        form.window_end.data = date.today() + timedelta(days=7)
    return form


def _is_en() -> bool:
    from flask_babel import get_locale

    return str(get_locale()) == "en"


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin", "manager")
def index():
    session = db.session()
    form = _form(session)
    status = 200
    if form.is_submitted():
        # a store outside the manager's scope is forbidden, not merely invalid
        scope = visible_store_ids(session, current_user)
        if scope is not None and form.store_id.data not in scope:
            abort(403)
        if form.validate():
            version = session.get(InstrumentVersion, form.version_id.data)
            session.add(Assignment(
                instrument_version_id=version.id, store_id=form.store_id.data,
                shopper_id=form.shopper_id.data, window_start=form.window_start.data,
                window_end=form.window_end.data, note=form.note.data or "",
                created_by=current_user.id))
            session.commit()
            flash(_("Visit assigned."), "ok")
            return redirect(url_for("assignments.index"), code=303)
        status = 400
    rows = queries.assignments_in_scope(session, visible_store_ids(session, current_user))
    return render_template("assignments/index.html", form=form, rows=rows), status
