"""The item-type registry: one entry per type, holding how a definition of it is checked,
how an answer to it is parsed, how that answer scores and which widget shows it.

Adding a type is one `ItemType` here; the loader, the scorer and the phone form all look
it up by name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .definitions import Item

NA = "na"
TEXT_LIMIT = 2000
# no count, time, price or distance in a dealership comes near this; 1e300 is a probe that
# would turn every sum and mean it joins into inf
NUMBER_LIMIT = 1e9
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_PHOTO_REF = re.compile(r"^[0-9a-f]{64}(\.jpg|\.jpeg|\.png|\.webp)?$")


class AnswerError(ValueError):
    """An answer that cannot be stored. `item_id` names the item; `message` says why."""

    def __init__(self, item_id: str, message: str):
        super().__init__(f"{item_id}: {message}")
        self.item_id = item_id
        self.message = message


@dataclass(frozen=True)
class ItemType:
    name: str
    widget: str  # how the phone form shows it: segmented, scale, choice, number, text, photo, time
    parse: Callable[[Item, Any], Any]  # raw JSON answer -> stored value, or AnswerError
    fraction: Callable[[Item, Any], float | None]  # stored value -> 0..1, None = not scored
    allowed: frozenset[str] = frozenset()  # type-specific definition keys it accepts
    scored: bool = True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _integer(item: Item, value: Any) -> int:
    if _is_number(value) and float(value).is_integer():
        return int(value)
    raise AnswerError(item.id, f"expected a whole number, got {value!r}")


def _parse_yes_no(item: Item, value: Any) -> str:
    if value in ("yes", "no"):
        return value
    raise AnswerError(item.id, f"expected 'yes' or 'no', got {value!r}")


def _parse_scale(item: Item, value: Any) -> int:
    number = _integer(item, value)
    low, high = item.scale_range
    if not low <= number <= high:
        raise AnswerError(item.id, f"{number} is outside {low}..{high}")
    return number


def _fraction_scale(item: Item, value: int) -> float:
    low, high = item.scale_range
    return (value - low) / (high - low)


def _parse_nps(item: Item, value: Any) -> int:
    number = _integer(item, value)
    if not 0 <= number <= 10:
        raise AnswerError(item.id, f"{number} is outside 0..10")
    return number


def _parse_choice(item: Item, value: Any) -> str:
    key = str(value) if isinstance(value, str) or _is_number(value) else None
    if key is not None and any(option.value == key for option in item.options or ()):
        return key
    values = ", ".join(repr(option.value) for option in item.options or ())
    raise AnswerError(item.id, f"{value!r} is not one of the options ({values})")


def _fraction_choice(item: Item, value: str) -> float | None:
    for option in item.options or ():
        if option.value == value:
            return option.score
    return None


def _parse_number(item: Item, value: Any) -> float | int:
    if not _is_number(value):
        raise AnswerError(item.id, f"expected a number, got {value!r}")
    if abs(value) > NUMBER_LIMIT:
        raise AnswerError(item.id, f"{value} is not a plausible number (limit ±{NUMBER_LIMIT:g})")
    if item.min is not None and value < item.min:
        raise AnswerError(item.id, f"{value} is below the minimum {item.min}")
    if item.max is not None and value > item.max:
        raise AnswerError(item.id, f"{value} is above the maximum {item.max}")
    return value


def _fraction_number(item: Item, value: float) -> float | None:
    for band in item.bands or ():
        if band.max is None or value <= band.max:
            return band.score
    return None


def _parse_text(item: Item, value: Any) -> str:
    if not isinstance(value, str):
        raise AnswerError(item.id, f"expected text, got {value!r}")
    if len(value) > TEXT_LIMIT:
        raise AnswerError(item.id, f"text is longer than {TEXT_LIMIT} characters")
    return value


def _parse_photo(item: Item, value: Any) -> str:
    if isinstance(value, str) and _PHOTO_REF.match(value):
        return value
    raise AnswerError(item.id, "expected the reference of an uploaded photo")


def is_time_of_day(value: Any) -> bool:
    """'HH:MM' on a 24-hour clock, 00:00..23:59 ('99:99' is not a time)."""
    return isinstance(value, str) and _TIME.fullmatch(value) is not None


def _parse_time(item: Item, value: Any) -> str:
    if is_time_of_day(value):
        return value
    raise AnswerError(item.id, f"expected a time of day as HH:MM, got {value!r}")


def _yes(item: Item, value: str) -> float:
    return 1.0 if value == "yes" else 0.0


def _nps(item: Item, value: int) -> float:
    return value / 10


def _unscored(item: Item, value: Any) -> None:
    return None


REGISTRY: dict[str, ItemType] = {
    t.name: t
    for t in (
        ItemType("yes_no", "segmented", _parse_yes_no, _yes),
        ItemType("choice", "choice", _parse_choice, _fraction_choice, frozenset({"options"})),
        ItemType("scale", "scale", _parse_scale, _fraction_scale, frozenset({"min", "max"})),
        ItemType("nps", "scale", _parse_nps, _nps),
        ItemType(
            "number", "number", _parse_number, _fraction_number,
            frozenset({"bands", "min", "max", "unit"}),
        ),
        ItemType("text", "text", _parse_text, _unscored, scored=False),
        ItemType("photo", "photo", _parse_photo, _unscored, scored=False),
        ItemType("time", "time", _parse_time, _unscored, scored=False),
    )
}


def nps_group(value: int) -> str:
    """promoter 9-10, passive 7-8, detractor 0-6."""
    if value >= 9:
        return "promoter"
    return "passive" if value >= 7 else "detractor"


def parse_answer(item: Item, value: Any) -> Any:
    """A raw answer (as JSON gives it) -> the stored value; `na` only where allowed."""
    if value == NA:
        if not item.na:
            raise AnswerError(item.id, "N/A is not allowed for this item")
        return NA
    return REGISTRY[item.type].parse(item, value)


def fraction(item: Item, value: Any) -> float | None:
    """0..1 for a scored answer; None when the item or this answer is not scored."""
    if value is None or value == NA or item.weight <= 0:
        return None
    return REGISTRY[item.type].fraction(item, value)
