"""Closing the loop (seed 002: 纠正预防措施, 措施验证与跟踪; seed 003: grades). Pure: the
corrective-action status flow, the before/after verdict of an action's effect, the
below-target test with a shrunken interval, store grades and the corrected answer of an
overturned appeal. No Flask, no session.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .ranking import Stats, shrink, t90

# event -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "plan": (frozenset({"open", "reopened", "plan_submitted"}), "plan_submitted"),
    "done": (frozenset({"plan_submitted"}), "done"),
    "verify": (frozenset({"done"}), "verified"),
    "reopen": (frozenset({"done", "verified"}), "reopened"),
}
ACTIVE = ("open", "plan_submitted", "reopened")  # the store still has work to do; due dates count


class TransitionError(ValueError):
    """An event that the action's status does not allow."""


def next_status(status: str, event: str) -> str:
    allowed, target = TRANSITIONS[event]
    if status not in allowed:
        raise TransitionError(f"{event} from {status}")
    return target


# ---- effect ---------------------------------------------------------------------------

IMPROVED, NOT_YET, NOT_ENOUGH = "improved", "not_yet", "not_enough_data"


@dataclass(frozen=True)
class Effect:
    before: Stats
    after: Stats
    verdict: str

    @property
    def change(self) -> float | None:
        if self.before.mean is None or self.after.mean is None:
            return None
        return self.after.mean - self.before.mean


def add_months(day: date, months: int) -> date:
    """The same day `months` later (earlier when negative), the month's last day when it is
    shorter: 31 January + 1 month = 28 or 29 February."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class EffectWindows:
    """The days compared: `before` up to the day the action was opened (the failure that
    opened it included), `after` from the day after it was done; each `months` long, the
    after-window cut at today while it is still running."""

    before: tuple[date, date]
    after: tuple[date, date]
    after_ends: date  # the last day of the full after-window

    @property
    def complete(self) -> bool:
        return self.after[1] >= self.after_ends


def effect_windows(opened: date, done: date, months: int, today: date) -> EffectWindows:
    end = add_months(done, months)
    return EffectWindows((add_months(opened, -months), opened),
                         (done + timedelta(days=1), min(today, end)), end)


def flag_due(done: date, months: int, today: date) -> bool:
    """Has an action done on `done` had `months` whole months to show its effect?"""
    return today >= add_months(done, months)


def effect(before: Stats, after: Stats) -> Effect:
    """Improved only when the after-interval lies wholly above the before-interval; without
    an interval on both sides (fewer than two scores) there is not enough data to say."""
    if before.ci90 is None or after.ci90 is None:
        return Effect(before, after, NOT_ENOUGH)
    return Effect(before, after, IMPROVED if after.ci90[0] > before.ci90[1] else NOT_YET)


# ---- below target ----------------------------------------------------------------------


def shrunk_interval(stats: Stats, prior: float, k: float) -> tuple[float, float] | None:
    """90% interval of the empirical-Bayes estimate: centred on the shrunken mean, its
    half-width that of n + k observations (the prior counts as k of them)."""
    if stats.n < 2 or stats.sd is None:
        return None
    centre = shrink(stats.n, stats.mean, prior, k)
    half = t90(stats.n - 1) * stats.sd / math.sqrt(stats.n + k)
    return centre - half, centre + half


def clearly_below(stats: Stats, prior: float, k: float, target: float) -> bool:
    interval = shrunk_interval(stats, prior, k)
    return interval is not None and interval[1] < target


# ---- grades ----------------------------------------------------------------------------

# (lowest score, key) best first; keys are translated for display
DEFAULT_GRADES: tuple[tuple[float, str], ...] = (
    (90.0, "excellent"), (80.0, "pass"), (70.0, "fair"), (0.0, "fail"),
)
GRADE_ZH = {"excellent": "优良", "pass": "合格", "fair": "一般", "fail": "不合格"}


def grade(score: float | None, thresholds=DEFAULT_GRADES) -> str | None:
    if score is None:
        return None
    for lowest, key in thresholds:
        if score >= lowest:
            return key
    return thresholds[-1][1]


# ---- customer measures -----------------------------------------------------------------


@dataclass(frozen=True)
class Proportion:
    hits: int
    n: int

    @property
    def share(self) -> float | None:
        return 100.0 * self.hits / self.n if self.n else None

    @property
    def ci90(self) -> tuple[float, float] | None:
        """Wilson interval (good at small n and near 0 or 100 %)."""
        if not self.n:
            return None
        z, p, n = 1.645, self.hits / self.n, self.n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


@dataclass(frozen=True)
class Nps:
    promoters: int
    passives: int
    detractors: int

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        return 100.0 * (self.promoters - self.detractors) / self.n if self.n else None

    @property
    def ci90(self) -> tuple[float, float] | None:
        """Normal interval of a difference of two multinomial shares, clipped to ±100."""
        if self.n < 2:
            return None
        n, p, d = self.n, self.promoters / self.n, self.detractors / self.n
        var = (p + d - (p - d) ** 2) / n
        half = 100 * 1.645 * math.sqrt(max(var, 0.0))
        value = self.score or 0.0
        return max(-100.0, value - half), min(100.0, value + half)


# ---- appeals ---------------------------------------------------------------------------


def corrected_answer(item) -> Any:
    """The answer an overturned item takes: the one that earns the item full marks (the
    reviewer agreed the store did what the item asks). None when no answer does."""
    if item.type == "yes_no":
        return "yes"
    if item.type == "choice":
        scored = [o for o in item.options or [] if o.score is not None]
        return max(scored, key=lambda o: o.score).value if scored else None
    if item.type in ("scale", "nps"):
        return item.scale_range[1]
    if item.type == "number":
        bands = [b for b in item.bands or [] if b.max is not None]
        best = max(item.bands or [], key=lambda b: b.score, default=None)
        if best is not None and best.max is not None:
            low = item.min if item.min is not None else 0
            return max(low, best.max)
        return bands[0].max if bands else None
    return None
