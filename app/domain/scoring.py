"""Scoring one response, exactly as DESIGN.md "Scoring (per response)" says.

Pure: an Instrument and a mapping of answers in, a ScoreResult out. The server calls this at
submission and stores the result; rankings aggregate the stored scores, never the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import show_if
from .definitions import Instrument, Item
from .item_types import NA, AnswerError, fraction, parse_answer


@dataclass(frozen=True)
class ScoreResult:
    overall: float | None
    touchpoints: dict[str, float | None]
    critical_failed: list[str] = field(default_factory=list)

    def as_json(self, digits: int | None = 2) -> dict[str, Any]:
        """The CLI contract: two decimals by default; storage keeps full precision."""

        def r(value: float | None) -> float | None:
            return value if value is None or digits is None else round(value, digits)

        return {
            "overall": r(self.overall),
            "touchpoints": {k: r(v) for k, v in self.touchpoints.items()},
            "critical_failed": list(self.critical_failed),
        }


def visible_answers(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers of shown items only, in instrument order.

    show_if only names earlier items, so one pass decides visibility: an item is shown when its
    condition holds over the answers of the shown items before it. Answers of hidden items are
    dropped, so they count as missing everywhere after.
    """
    shown: dict[str, Any] = {}
    for item in instrument.items():
        if not show_if.evaluate(item.condition, shown):
            continue
        value = answers.get(item.id)
        if value is not None:
            shown[item.id] = value
    return shown


def shown_items(instrument: Instrument, answers: Mapping[str, Any]) -> list[Item]:
    shown: dict[str, Any] = {}
    items = []
    for item in instrument.items():
        if show_if.evaluate(item.condition, shown):
            items.append(item)
            if answers.get(item.id) is not None:
                shown[item.id] = answers[item.id]
    return items


def validate_answers(instrument: Instrument, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Raw answers (JSON) -> parsed answers of shown items; AnswerError naming the item.

    Unknown items are errors; answers to hidden items are ignored (the phone may still hold an
    answer given before a branch closed); None means "not answered".
    """
    known = {item.id: item for item in instrument.items()}
    for item_id in raw:
        if item_id not in known:
            raise AnswerError(str(item_id), "unknown item: not in this instrument")
    parsed: dict[str, Any] = {}
    for item in instrument.items():
        if not show_if.evaluate(item.condition, parsed):
            continue
        value = raw.get(item.id)
        if value is not None:
            parsed[item.id] = parse_answer(item, value)
    return parsed


def missing_required(instrument: Instrument, answers: Mapping[str, Any]) -> list[str]:
    """Required items that are shown but unanswered (a final submission needs none)."""
    return [
        item.id
        for item in shown_items(instrument, answers)
        if item.required and answers.get(item.id) is None
    ]


def score(instrument: Instrument, answers: Mapping[str, Any]) -> ScoreResult:
    """Score parsed answers (see `validate_answers`)."""
    shown = visible_answers(instrument, answers)
    totals: dict[str, list[float]] = {}  # touchpoint -> [Σ weight × fraction, Σ weight]
    critical: set[str] = set()
    for section in instrument.sections:
        tp = totals.setdefault(section.touchpoint, [0.0, 0.0])
        for item in section.items:
            value = shown.get(item.id)
            if value is None or value == NA:
                continue
            part = fraction(item, value)
            if part is None:
                continue
            tp[0] += item.weight * part
            tp[1] += item.weight
            if item.critical and part == 0:
                critical.add(section.touchpoint)

    touchpoints: dict[str, float | None] = {}
    for tp_id, (earned, possible) in totals.items():
        if possible <= 0:
            touchpoints[tp_id] = None
        else:
            touchpoints[tp_id] = 0.0 if tp_id in critical else 100 * earned / possible

    weights = instrument.touchpoint_weights()
    weighted = [(weights[tp], s) for tp, s in touchpoints.items() if s is not None]
    total_weight = sum(w for w, _ in weighted)
    overall = sum(w * s for w, s in weighted) / total_weight if total_weight > 0 else None
    failed = [tp for tp in touchpoints if tp in critical]
    return ScoreResult(overall=overall, touchpoints=touchpoints, critical_failed=failed)
