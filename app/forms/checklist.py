"""The phone checklist as a WTForms form, built from an instrument.

Fields are made per item type through the widget named in the item-type registry; validation
is the domain's (`validate_answers`, `missing_required`), whose errors are put back on the
fields so the page shows them inline.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ..domain.definitions import Instrument, Item
from ..domain.item_types import REGISTRY, AnswerError
from ..domain.scoring import missing_required, validate_answers

PREFIX = "item_"  # field names never clash with FlaskForm attributes (data, errors, ...)


def field_name(item: Item) -> str:
    return PREFIX + item.id


def _choices(item: Item, locale: str) -> list[SelectChoice]:
    widget = REGISTRY[item.type].widget
    if item.type == "yes_no":
        pairs = [("yes", _("Yes")), ("no", _("No"))]
    elif widget == "scale":
        low, high = item.scale_range
        pairs = [(str(v), str(v)) for v in range(low, high + 1)]
    else:  # choice
        pairs = [(o.value, o.text.get(locale)) for o in item.options or ()]
    if item.na:
        pairs.append(("na", _("N/A")))
    return [SelectChoice(value, label) for value, label in pairs]


def _field(item: Item, locale: str):
    label = item.text.get(locale)
    widget = REGISTRY[item.type].widget
    if widget in ("segmented", "scale", "choice"):
        return RadioField(label, choices=_choices(item, locale), validate_choice=False)
    if widget == "text":
        return TextAreaField(label, render_kw={"maxlength": 2000, "rows": 3})
    if widget == "photo":
        return HiddenField(label)  # the photo's hash, set after upload
    if widget == "time":
        return StringField(label, render_kw={"type": "time"})
    kw = {"type": "number", "inputmode": "decimal", "step": "any"}
    if item.na:  # a number that may be N/A is typed as text so "na" can be sent
        kw = {"inputmode": "decimal"}
    return StringField(label, render_kw=kw)


def build_form(instrument: Instrument, locale: str, formdata: MultiDict | None = None,
               data: dict[str, Any] | None = None) -> FlaskForm:
    class ChecklistForm(FlaskForm):
        uuid = HiddenField()
        visit_date = StringField(_("Visit date"), render_kw={"type": "date"})
        visit_start = StringField(_("Visit started"), render_kw={"type": "time"})
        visit_end = StringField(_("Visit ended"), render_kw={"type": "time"})

    for item in instrument.items():
        setattr(ChecklistForm, field_name(item), _field(item, locale))
    initial = {field_name(instrument.item(k)): _initial(v) for k, v in (data or {}).items()
               if instrument.item(k) is not None}
    return ChecklistForm(formdata=formdata, data=initial)


def _initial(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, int | float) else value


def raw_answers(instrument: Instrument, form: MultiDict) -> dict[str, Any]:
    """Form fields -> raw answers as JSON would give them; unknown `item_*` names are kept so
    validation can refuse them by name."""
    raw: dict[str, Any] = {}
    for key in form:
        if not key.startswith(PREFIX):
            continue
        item_id = key[len(PREFIX):]
        value = form.get(key, "").strip()
        if value == "":
            continue
        item = instrument.item(item_id)
        raw[item_id] = _coerce(item, value) if item is not None else value
    return raw


def _coerce(item: Item, value: str) -> Any:
    if value == "na" or item.type in ("yes_no", "choice", "text", "photo", "time"):
        return value
    try:
        number = float(value)
    except ValueError:
        return value  # validation names the item and says a number was expected
    if item.type in ("scale", "nps") and number.is_integer():
        return int(number)
    return int(number) if number.is_integer() else number


def check(instrument: Instrument, raw: dict[str, Any], final: bool):
    """(parsed answers, {item_id: message}); a final submission also needs every required item."""
    try:
        answers = validate_answers(instrument, raw)
    except AnswerError as error:
        return None, {error.item_id: error.message}
    errors = {}
    if final:
        errors = {item_id: _("This answer is required.")
                  for item_id in missing_required(instrument, answers)}
    return answers, errors
