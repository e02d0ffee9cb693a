"""The public survey form: instrument items -> plain view rows for the template, and the
posted form -> raw answers (as `responses.create_scored_response` takes them) plus the errors
a customer sees next to each question.

Hand-rolled rather than WTForms: the page must stay tiny (no JavaScript needed, ~80 radio
buttons for a 12-question survey) and every widget is a native control.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from .domain.definitions import Instrument, Item
from .domain.item_types import NA, REGISTRY, AnswerError
from .domain.scoring import missing_required, validate_answers

PREFIX = "a-"  # form field name = PREFIX + item id (keeps items apart from csrf_token, phone...)
PUBLIC_WIDGETS = ("segmented", "scale", "choice", "number", "text", "time")
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,22}[0-9]$")


@dataclass
class Option:
    value: str
    label: str
    hint: str = ""  # read by screen readers after the label (e.g. "very dissatisfied")


@dataclass
class Row:
    id: str
    number: int
    widget: str
    text: str
    help: str
    required: bool
    options: list[Option] = field(default_factory=list)
    value: str = ""
    error: str = ""
    ends: tuple[str, str] | None = None  # the words under the two ends of a scale


@dataclass
class Posted:
    raw: dict[str, Any]
    errors: dict[str, str]
    values: dict[str, str]
    phone: str = ""
    call_back: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def public_items(instrument: Instrument) -> list[Item]:
    return [i for i in instrument.items() if REGISTRY[i.type].widget in PUBLIC_WIDGETS]


def _options(item: Item, locale: str) -> tuple[list[Option], tuple[str, str] | None]:
    widget = REGISTRY[item.type].widget
    options: list[Option] = []
    ends = None
    if widget == "scale":
        low, high = item.scale_range
        if item.type == "nps":
            ends = (_("Not at all likely"), _("Extremely likely"))
        else:
            ends = (_("Very dissatisfied"), _("Very satisfied"))
        options = [Option(str(v), str(v)) for v in range(low, high + 1)]
        options[0].hint, options[-1].hint = ends
    elif widget == "segmented":
        options = [Option("yes", _("Yes")), Option("no", _("No"))]
    elif widget == "choice":
        options = [Option(o.value, o.text.get(locale)) for o in item.options or ()]
    if item.na and options:
        options.append(Option(NA, _("N/A")))
    return options, ends


def rows(instrument: Instrument, locale: str, posted: Posted | None = None) -> list[Row]:
    items = public_items(instrument)
    out = []
    for number, item in enumerate(items, start=1):
        options, ends = _options(item, locale)
        out.append(Row(
            id=item.id, number=number, widget=REGISTRY[item.type].widget,
            text=item.text.get(locale), help=item.help.get(locale) if item.help else "",
            required=item.required, options=options, ends=ends,
            value=posted.values.get(item.id, "") if posted else "",
            error=posted.errors.get(item.id, "") if posted else "",
        ))
    return out


def _raw_value(item: Item, text: str) -> Any:
    """A posted string -> the JSON-ish answer the registry parses (None = unanswered)."""
    text = text.strip()
    if not text:
        return None
    if text == NA and item.na:
        return NA
    if item.type in ("scale", "nps"):
        return int(text) if re.fullmatch(r"-?\d{1,3}", text) else text
    if item.type == "number":
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return text


def parse(instrument: Instrument, form) -> Posted:
    """The posted form -> raw answers and per-question errors (nothing is stored here)."""
    items = public_items(instrument)
    values = {item.id: form.get(PREFIX + item.id, "")[:2000] for item in items}
    raw = {item.id: _raw_value(item, values[item.id]) for item in items}
    errors: dict[str, str] = {}
    answers = {k: v for k, v in raw.items() if v is not None}
    try:
        parsed = validate_answers(instrument, answers)
    except AnswerError as error:
        errors[error.item_id] = _("This answer is not valid. Please choose again.")
        parsed = {}
    if not errors:
        for item_id in missing_required(instrument, parsed):
            errors[item_id] = _("Please answer this question.")
    phone = " ".join(form.get("phone", "").split())[:32]
    call_back = form.get("call_back") == "yes"
    if phone and not PHONE.match(phone):
        errors["phone"] = _("Please enter a phone number with digits only, like 138 0000 0000.")
    elif call_back and not phone:
        errors["phone"] = _("Please enter your phone number so that we can call you back.")
    elif phone and not call_back:
        errors["phone"] = _("Tick the box to agree to a call back, or leave the number out.")
    return Posted(raw=answers, errors=errors, values=values, phone=phone, call_back=call_back)


def client_uuid(form) -> str:
    """The hidden UUID made when the page was rendered; a fresh one if missing or malformed."""
    value = form.get("uuid", "")
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        return str(uuid_module.uuid4())
