"""Short-board maths (DESIGN.md "Aggregation and short-board ranking"). Pure: plain numbers
in, small dataclasses out; no Flask, no session.

Aggregates arrive as sufficient statistics (n, Σx, Σx²) so that SQL does the heavy lifting and
groups can be added together (stores -> region -> network) without touching responses again.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

# Two-sided 90% interval: the 95th percentile of Student's t by degrees of freedom.
_T95 = {
    1: 6.314, 2: 2.920, 3: 2.353, 4: 2.132, 5: 2.015, 6: 1.943, 7: 1.895, 8: 1.860, 9: 1.833,
    10: 1.812, 11: 1.796, 12: 1.782, 13: 1.771, 14: 1.761, 15: 1.753, 16: 1.746, 17: 1.740,
    18: 1.734, 19: 1.729, 20: 1.725, 21: 1.721, 22: 1.717, 23: 1.714, 24: 1.711, 25: 1.708,
    26: 1.706, 27: 1.703, 28: 1.701, 29: 1.699, 30: 1.697, 40: 1.684, 60: 1.671, 120: 1.658,
}
Z95 = 1.645
DEFAULT_DAYS = 90


def t90(df: int) -> float:
    """Critical value for a two-sided 90% interval (t up to 120 df, normal beyond)."""
    if df < 1:
        return math.inf
    if df in _T95:
        return _T95[df]
    if df > 120:
        return Z95
    upper = min(k for k in _T95 if k > df)
    lower = max(k for k in _T95 if k < df)
    share = (df - lower) / (upper - lower)
    return _T95[lower] + share * (_T95[upper] - _T95[lower])


@dataclass(frozen=True)
class Stats:
    """Sufficient statistics of a group of scores; add two groups with `+`."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0
    critical: int = 0

    def __add__(self, other: Stats) -> Stats:
        return Stats(self.n + other.n, self.total + other.total, self.squares + other.squares,
                     self.critical + other.critical)

    @classmethod
    def total_of(cls, groups: Iterable[Stats]) -> Stats:
        """Sum of many groups (faster than repeated `+` for thousands of stores)."""
        n = total = squares = critical = 0
        for g in groups:
            n += g.n
            total += g.total
            squares += g.squares
            critical += g.critical
        return cls(n, float(total), float(squares), critical)

    @classmethod
    def of(cls, values: Iterable[float]) -> Stats:
        values = list(values)
        return cls(len(values), sum(values), sum(v * v for v in values))

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def sd(self) -> float | None:
        if self.n < 2:
            return None
        var = (self.squares - self.total * self.total / self.n) / (self.n - 1)
        return math.sqrt(max(var, 0.0))

    @property
    def ci90(self) -> tuple[float, float] | None:
        """90% interval of the mean, clipped to 0..100; None below two responses."""
        if self.n < 2 or self.sd is None:
            return None
        half = t90(self.n - 1) * self.sd / math.sqrt(self.n)
        mean = self.mean or 0.0
        return max(0.0, mean - half), min(100.0, mean + half)


def shrink(n: int, mean: float | None, prior: float, k: float) -> float:
    """Empirical-Bayes estimate: (n·mean + k·prior) / (n + k)."""
    if not n or mean is None:
        return prior
    return (n * mean + k * prior) / (n + k)


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation quantile (as numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Moments:
    """Paired sums for a correlation: n, Σx, Σy, Σxy, Σx², Σy²."""

    n: int
    sx: float
    sy: float
    sxy: float
    sxx: float
    syy: float

    @property
    def correlation(self) -> float | None:
        if self.n < 3:
            return None
        cov = self.n * self.sxy - self.sx * self.sy
        vx = self.n * self.sxx - self.sx * self.sx
        vy = self.n * self.syy - self.sy * self.sy
        if vx <= 1e-9 or vy <= 1e-9:
            return None
        return max(-1.0, min(1.0, cov / math.sqrt(vx * vy)))


def priority(importance: float | None, gap_to_target: float | None) -> float | None:
    """Importance (correlation with the outcome, negatives count as 0) × shortfall to target."""
    if importance is None or gap_to_target is None:
        return None
    return max(importance, 0.0) * max(-gap_to_target, 0.0)


@dataclass
class BoardRow:
    """One touchpoint on the short board."""

    touchpoint_id: str
    target: float
    stats: Stats  # the ranked measure (execution or perception) in scope
    other: Stats = field(default_factory=Stats)  # the other measure, side by side
    best_quartile: float | None = None  # 75th percentile of store means in the network
    network_mean: float | None = None
    importance: float | None = None
    priority: float | None = None
    rank: int | None = None  # None: too few responses to rank with certainty
    small: bool = False
    fix_first: bool = False
    weakest_stores: list = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        return self.stats.mean

    @property
    def gap(self) -> float | None:
        return None if self.mean is None else self.mean - self.target

    @property
    def gap_best(self) -> float | None:
        if self.mean is None or self.best_quartile is None:
            return None
        return self.mean - self.best_quartile


def rank_board(rows: list[BoardRow], *, small_n: int, fix_first: int = 3) -> list[BoardRow]:
    """Weakest first among touchpoints with enough responses; small samples follow, unranked.

    The top `fix_first` positive priorities are flagged "fix first"."""
    for row in rows:
        row.small = row.stats.n < small_n
        row.priority = priority(row.importance, row.gap)
    certain = sorted((r for r in rows if not r.small and r.mean is not None),
                     key=lambda r: (r.mean, r.touchpoint_id))
    for position, row in enumerate(certain, start=1):
        row.rank = position
    uncertain = sorted((r for r in rows if r.small or r.mean is None),
                       key=lambda r: (-r.stats.n, r.mean if r.mean is not None else 101))
    prioritised = sorted((r for r in certain if r.priority), key=lambda r: -r.priority)
    for row in prioritised[:fix_first]:
        row.fix_first = True
    return certain + uncertain


@dataclass(frozen=True)
class LeagueRow:
    store_id: int
    stats: Stats
    shrunk: float
    rank: int = 0

    @property
    def mean(self) -> float | None:
        return self.stats.mean


def league(stats_by_store: dict[int, Stats], prior: float, k: float) -> list[LeagueRow]:
    """Stores weakest first by shrunken mean (ties: more responses first, then id)."""
    rows = [LeagueRow(sid, s, shrink(s.n, s.mean, prior, k)) for sid, s in stats_by_store.items()]
    rows.sort(key=lambda r: (r.shrunk, -r.stats.n, r.store_id))
    return [LeagueRow(r.store_id, r.stats, r.shrunk, i) for i, r in enumerate(rows, start=1)]


def weakest(stats_by_store: dict[int, Stats], prior: float, k: float,
            count: int) -> list[LeagueRow]:
    """The first `count` rows of `league(...)`, without sorting every store."""
    best = heapq.nsmallest(count, (
        (shrink(s.n, s.mean, prior, k), -s.n, sid) for sid, s in stats_by_store.items()))
    return [LeagueRow(sid, stats_by_store[sid], value, i)
            for i, (value, _n, sid) in enumerate(best, start=1)]


def precision_at_k(predicted: Sequence, truth: Iterable, k: int) -> float:
    """Share of the first k predicted that are in the true set."""
    wanted = set(truth)
    top = list(predicted)[:k]
    return sum(1 for x in top if x in wanted) / k if k else 0.0


# ---- periods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    kind: str  # month | quarter | range
    key: str  # 2025-05 | 2025-Q2 | 2025-01-01..2025-03-31

    def previous(self) -> Period:
        if self.kind == "month":
            return month_period(self.start - timedelta(days=1))
        if self.kind == "quarter":
            return quarter_period(self.start - timedelta(days=1))
        length = (self.end - self.start).days + 1
        end = self.start - timedelta(days=1)
        start = end - timedelta(days=length - 1)
        return Period(start, end, "range", f"{start.isoformat()}..{end.isoformat()}")


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def month_period(day: date) -> Period:
    return Period(day.replace(day=1), _month_end(day.year, day.month), "month",
                  f"{day.year:04d}-{day.month:02d}")


def quarter_period(day: date) -> Period:
    q = (day.month - 1) // 3
    start = date(day.year, 3 * q + 1, 1)
    return Period(start, _month_end(day.year, 3 * q + 3), "quarter", f"{day.year:04d}-Q{q + 1}")


# periods outside these years are typos or probes (year 1 has no "previous twelve months")
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def parse_period(text: str | None, start: str | None = None, end: str | None = None,
                 *, today: date) -> Period | None:
    """'2025-05' or '2025-Q2' (wins when given), else a from/to range of ISO dates; None
    when it does not parse or lies outside EARLIEST..LATEST. Without anything: the 90 days up
    to today, so that a Monday-morning board has enough responses to rank (a single month of
    mystery shops rarely has)."""
    if text:
        period = _named_period(text)
        return period if period and EARLIEST <= period.start <= period.end <= LATEST else None
    if start or end:
        try:
            a, b = date.fromisoformat(start or ""), date.fromisoformat(end or "")
        except ValueError:
            return None
        if b < a or (b - a).days > 3 * 366 or a < EARLIEST or b > LATEST:
            return None
        return Period(a, b, "range", f"{a.isoformat()}..{b.isoformat()}")
    start_day = today - timedelta(days=DEFAULT_DAYS - 1)
    return Period(start_day, today, "range", f"{start_day.isoformat()}..{today.isoformat()}")


def _named_period(text: str) -> Period | None:
    try:
        if len(text) == 7 and text[4] == "-" and text[5:].isdigit():
            return month_period(date(int(text[:4]), int(text[5:]), 1))
        if len(text) == 7 and text[4:6] == "-Q" and text[6] in "1234":
            return quarter_period(date(int(text[:4]), 3 * int(text[6]) - 2, 1))
    except ValueError:
        return None
    return None


def months_between(start: date, end: date) -> list[tuple[int, int]]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def recent_periods(today: date, months: int = 12, quarters: int = 4) -> list[str]:
    """Keys for a period picker: the last months, then the last quarters, newest first."""
    keys, day = [], today
    for _ in range(months):
        keys.append(month_period(day).key)
        day = day.replace(day=1) - timedelta(days=1)
    day = today
    for _ in range(quarters):
        period = quarter_period(day)
        keys.append(period.key)
        day = period.start - timedelta(days=1)
    return keys


@dataclass(frozen=True)
class MonthSplit:
    """A date range as whole months plus the days at its ends that do not fill a month:
    summaries are kept per month, the ends are added from finer rows so a range is exact."""

    months: tuple[date, date] | None  # first days of the first and last whole month
    edges: tuple[tuple[date, date], ...]  # day ranges, each inside one month

    def month_list(self) -> list[date]:
        if self.months is None:
            return []
        return [date(y, m, 1) for y, m in months_between(*self.months)]


def month_split(start: date, end: date) -> MonthSplit:
    """Split start..end (inclusive) into whole months and partial-month edges."""
    if end < start:
        return MonthSplit(None, ())
    first_whole = start if start.day == 1 else _month_end(start.year, start.month) + timedelta(1)
    last_whole_end = end if end == _month_end(end.year, end.month) else end.replace(day=1) - timedelta(1)
    if first_whole > last_whole_end:  # no whole month inside: one or two partial months
        if (start.year, start.month) == (end.year, end.month):
            return MonthSplit(None, ((start, end),))
        return MonthSplit(None, ((start, _month_end(start.year, start.month)),
                                 (end.replace(day=1), end)))
    edges = []
    if first_whole > start:
        edges.append((start, first_whole - timedelta(1)))
    if last_whole_end < end:
        edges.append((last_whole_end + timedelta(1), end))
    return MonthSplit((first_whole, last_whole_end.replace(day=1)), tuple(edges))
