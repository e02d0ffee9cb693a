"""Short-board maths: means, 90% intervals, shrinkage, quartiles, correlation, ranking."""

import math
import statistics
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.ranking import (
    BoardRow,
    Moments,
    Stats,
    league,
    parse_period,
    precision_at_k,
    quantile,
    rank_board,
    recent_periods,
    shrink,
    t90,
    weakest,
)

scores = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(st.lists(scores, min_size=2, max_size=60))
def test_stats_match_the_statistics_module(values):
    s = Stats.of(values)
    assert s.mean == pytest.approx(statistics.fmean(values), abs=1e-9)
    # sums of squares cancel a little: exact to ~1e-6 on a 0..100 scale, plenty for a score
    assert s.sd == pytest.approx(statistics.stdev(values), abs=1e-4)
    low, high = s.ci90
    assert 0 <= low <= s.mean + 1e-9 and s.mean - 1e-9 <= high <= 100


@given(st.lists(scores, max_size=30), st.lists(scores, max_size=30))
def test_stats_of_two_groups_add_up(a, b):
    joined = Stats.of(a) + Stats.of(b)
    whole = Stats.of(a + b)
    assert joined.n == whole.n
    assert joined.total == pytest.approx(whole.total)


def test_interval_uses_t_for_small_samples_and_normal_for_large():
    assert t90(4) == pytest.approx(2.132)
    assert t90(1000) == pytest.approx(1.645)
    s = Stats.of([60, 70, 80, 90, 100])  # mean 80, sd 15.81
    half = 2.132 * statistics.stdev([60, 70, 80, 90, 100]) / math.sqrt(5)
    assert s.ci90 == pytest.approx((80 - half, min(100, 80 + half)))


def test_one_response_has_no_interval():
    assert Stats.of([70]).ci90 is None
    assert Stats().mean is None


@pytest.mark.parametrize("n, mean, prior, k, expected", [
    (0, None, 80, 5, 80),         # no data: the network mean
    (5, 60, 80, 5, 70),           # n = k: halfway
    (95, 60, 80, 5, 61),          # many responses: close to the store's own mean
    (2, 100, 80, 0, 100),         # k = 0: no shrinkage
])
def test_shrinkage(n, mean, prior, k, expected):
    assert shrink(n, mean, prior, k) == pytest.approx(expected)


def test_a_store_with_two_perfect_responses_does_not_top_the_league():
    stats = {1: Stats.of([100, 100]), 2: Stats.of([92] * 40), 3: Stats.of([50, 55, 60] * 10)}
    rows = league(stats, prior=80, k=5)
    assert [r.store_id for r in rows] == [3, 1, 2]  # weakest first; store 2 is best
    assert rows[1].shrunk == pytest.approx((200 + 400) / 7)


def test_best_quartile_is_the_75th_percentile():
    assert quantile([1, 2, 3, 4, 5], 0.75) == 4
    assert quantile([10, 20], 0.75) == 17.5
    assert quantile([], 0.75) is None


@given(st.lists(st.tuples(scores, scores), min_size=3, max_size=40))
def test_correlation_from_sums_matches_pearson(pairs):
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    m = Moments(len(xs), sum(xs), sum(ys), sum(x * y for x, y in pairs),
                sum(x * x for x in xs), sum(y * y for y in ys))
    if statistics.pstdev(xs) < 1e-3 or statistics.pstdev(ys) < 1e-3:
        return
    assert m.correlation == pytest.approx(statistics.correlation(xs, ys), abs=1e-6)


def _row(tp, values, importance=None, target=85):
    return BoardRow(tp, target, Stats.of(values), importance=importance)


def test_small_samples_are_listed_after_ranked_ones_without_a_rank():
    rows = rank_board([_row("a", [90] * 10), _row("b", [20, 30]), _row("c", [70] * 10)],
                      small_n=5)
    assert [(r.touchpoint_id, r.rank, r.small) for r in rows] == [
        ("c", 1, False), ("a", 2, False), ("b", None, True)]


def test_priority_is_importance_times_shortfall_and_flags_fix_first():
    rows = rank_board([_row("a", [60] * 10, importance=0.2), _row("b", [75] * 10, importance=0.8),
                       _row("c", [95] * 10, importance=0.9)], small_n=5, fix_first=1)
    by_id = {r.touchpoint_id: r for r in rows}
    assert by_id["a"].priority == pytest.approx(5.0)
    assert by_id["b"].priority == pytest.approx(8.0)
    assert by_id["c"].priority == 0
    assert [r.touchpoint_id for r in rows if r.fix_first] == ["b"]


@pytest.mark.parametrize("text, start, end, expected", [
    ("2025-05", None, None, (date(2025, 5, 1), date(2025, 5, 31), "month")),
    ("2024-02", None, None, (date(2024, 2, 1), date(2024, 2, 29), "month")),
    ("2025-Q4", None, None, (date(2025, 10, 1), date(2025, 12, 31), "quarter")),
    ("", "2025-01-10", "2025-02-09", (date(2025, 1, 10), date(2025, 2, 9), "range")),
    (None, None, None, (date(2025, 3, 18), date(2025, 6, 15), "range")),
    ("2025-13", None, None, None),
    ("2025-Q5", None, None, None),
    ("drop table", None, None, None),
    ("", "2025-02-09", "2025-01-10", None),
    ("", "2025-01-10", "nonsense", None),
])
def test_periods(text, start, end, expected):
    period = parse_period(text, start, end, today=date(2025, 6, 15))
    got = None if period is None else (period.start, period.end, period.kind)
    assert got == expected


def test_previous_periods():
    assert parse_period("2025-01", today=date(2025, 6, 1)).previous().key == "2024-12"
    assert parse_period("2025-Q1", today=date(2025, 6, 1)).previous().key == "2024-Q4"
    p = parse_period("", "2025-01-11", "2025-01-20", today=date(2025, 6, 1)).previous()
    assert (p.start, p.end) == (date(2025, 1, 1), date(2025, 1, 10))


def test_recent_periods_offer_months_then_quarters():
    keys = recent_periods(date(2025, 2, 10))
    assert keys[:3] == ["2025-02", "2025-01", "2024-12"]
    assert keys[-4:] == ["2025-Q1", "2024-Q4", "2024-Q3", "2024-Q2"]


def test_precision_at_k():
    assert precision_at_k([1, 2, 3, 4], {2, 4, 9}, 4) == 0.5


@given(st.dictionaries(st.integers(1, 500), st.lists(scores, min_size=1, max_size=8),
                       min_size=1, max_size=40))
def test_weakest_is_the_start_of_the_league(groups):
    stats = {sid: Stats.of(values) for sid, values in groups.items()}
    assert weakest(stats, 80, 5, 3) == league(stats, 80, 5)[:3]
