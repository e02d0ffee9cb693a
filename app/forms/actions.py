"""Forms of corrective actions. Choices (stores in scope, touchpoints, root causes) are set
by the view; labels are lazy so that they follow the user's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

ROOT_CAUSE_LABELS = {
    "people": _l("People: staffing, attitude"),
    "training": _l("Training: skills, product knowledge"),
    "process": _l("Process: steps missing or unclear"),
    "equipment": _l("Equipment and materials"),
    "environment": _l("Environment and facilities"),
    "management": _l("Management: supervision, incentives"),
    "other": _l("Other"),
}


class NewActionForm(FlaskForm):
    store = SelectField(_l("Store"), validators=[DataRequired()])
    touchpoint = SelectField(_l("Touchpoint"), validators=[DataRequired()])
    item_id = StringField(_l("Item (optional)"), validators=[Optional(), Length(max=64)])
    response_id = HiddenField()
    note = TextAreaField(_l("What was found"), validators=[
        DataRequired(message=_l("Please say what was found.")), Length(max=4000)])


class PlanForm(FlaskForm):
    root_cause = SelectField(_l("Root cause"), validators=[DataRequired()])
    why1 = StringField(_l("Why? (1)"), validators=[Length(max=500)])
    why2 = StringField(_l("Why? (2)"), validators=[Length(max=500)])
    why3 = StringField(_l("Why? (3)"), validators=[Length(max=500)])
    why4 = StringField(_l("Why? (4)"), validators=[Length(max=500)])
    why5 = StringField(_l("Why? (5)"), validators=[Length(max=500)])
    plan = TextAreaField(_l("Plan: what will be done, by whom, by when"), validators=[
        DataRequired(message=_l("Please write the plan.")), Length(max=4000)])

    def whys(self) -> list[str]:
        return [getattr(self, f"why{n}").data or "" for n in range(1, 6)]


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo of the fix"), validators=[FileRequired()])


class DoneForm(FlaskForm):
    note = TextAreaField(_l("What was done"), validators=[Length(max=4000)])


class VerifyForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[
        SelectChoice("verify", _l("Verified: the fix is in place")),
        SelectChoice("reopen", _l("Reopen: not good enough yet"))], validators=[DataRequired()])
    note = TextAreaField(_l("Comment (required when reopening)"), validators=[Length(max=4000)])
