"""Closing-the-loop maths: status flow, effect verdict, shrunken interval, grades, NPS and
top-2-box intervals, the answer an overturned item takes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import loop
from app.domain.definitions import Item
from app.domain.item_types import fraction
from app.domain.ranking import Stats


@pytest.mark.parametrize("status, event, after", [
    ("open", "plan", "plan_submitted"), ("reopened", "plan", "plan_submitted"),
    ("plan_submitted", "plan", "plan_submitted"), ("plan_submitted", "done", "done"),
    ("done", "verify", "verified"), ("done", "reopen", "reopened"),
    ("verified", "reopen", "reopened"),
])
def test_allowed_steps(status, event, after):
    assert loop.next_status(status, event) == after


@pytest.mark.parametrize("status, event", [
    ("open", "done"), ("open", "verify"), ("plan_submitted", "verify"), ("verified", "plan"),
    ("done", "plan"), ("verified", "verify"),
])
def test_refused_steps(status, event):
    with pytest.raises(loop.TransitionError):
        loop.next_status(status, event)


@pytest.mark.parametrize("score, grade", [
    (None, None), (100, "excellent"), (90, "excellent"), (89.99, "pass"), (80, "pass"),
    (75, "fair"), (69.9, "fail"), (0, "fail"),
])
def test_grades_follow_the_thresholds(score, grade):
    assert loop.grade(score) == grade


def test_grades_take_configured_thresholds():
    assert loop.grade(85, ((95, "excellent"), (85, "pass"), (0, "fail"))) == "pass"


def test_nps_is_promoters_minus_detractors():
    nps = loop.Nps(promoters=6, passives=2, detractors=2)
    assert nps.n == 10 and nps.score == pytest.approx(40.0)
    low, high = nps.ci90
    assert low < 40 < high


@settings(deadline=None)  # the machine is shared: no timing in tests
@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_nps_and_its_interval_stay_within_bounds(p, q, d):
    nps = loop.Nps(p, q, d)
    if nps.n == 0:
        assert nps.score is None
        return
    assert -100 <= nps.score <= 100
    if nps.ci90:
        assert -100 <= nps.ci90[0] <= nps.score + 1e-9 and nps.score - 1e-9 <= nps.ci90[1] <= 100


@settings(deadline=None)  # the machine is shared: no timing in tests
@given(st.integers(0, 200), st.integers(1, 200))
def test_top_two_box_interval_holds_the_share(hits, n):
    hits = min(hits, n)
    share = loop.Proportion(hits, n)
    low, high = share.ci90
    assert 0 <= low <= share.share + 1e-9 and share.share - 1e-9 <= high <= 100


@settings(deadline=None)  # the machine is shared: no timing in tests
@given(st.lists(st.floats(0, 100), min_size=2, max_size=30), st.floats(0, 100),
       st.floats(0, 50))
def test_the_shrunken_interval_lies_between_the_mean_and_the_prior(values, prior, k):
    stats = Stats.of(values)
    low, high = loop.shrunk_interval(stats, prior, k)
    centre = (low + high) / 2
    assert min(stats.mean, prior) - 1e-6 <= centre <= max(stats.mean, prior) + 1e-6


def test_clearly_below_needs_the_whole_interval_below_target():
    low = Stats.of([40, 45, 50, 42, 44])
    assert loop.clearly_below(low, prior=80, k=2, target=85)
    assert not loop.clearly_below(Stats.of([40]), prior=80, k=2, target=85)  # too little data
    assert not loop.clearly_below(Stats.of([80, 90, 85, 88]), prior=80, k=2, target=85)


ITEMS = [
    {"id": "a", "type": "yes_no", "text": {"zh": "a", "en": "a"}},
    {"id": "b", "type": "scale", "min": 1, "max": 5, "text": {"zh": "b", "en": "b"}},
    {"id": "c", "type": "choice", "text": {"zh": "c", "en": "c"}, "options": [
        {"value": "x", "text": {"zh": "x", "en": "x"}, "score": 0.5},
        {"value": "y", "text": {"zh": "y", "en": "y"}, "score": 1},
        {"value": "z", "text": {"zh": "z", "en": "z"}, "score": None}]},
    {"id": "d", "type": "number", "text": {"zh": "d", "en": "d"}, "bands": [
        {"max": 30, "score": 1}, {"max": 60, "score": 0.5}, {"score": 0}]},
    {"id": "e", "type": "nps", "text": {"zh": "e", "en": "e"}},
]


@pytest.mark.parametrize("raw", ITEMS, ids=[i["id"] for i in ITEMS])
def test_an_overturned_item_earns_full_marks(raw):
    item = Item.model_validate(raw)
    assert fraction(item, loop.corrected_answer(item)) == 1


def test_unscored_items_cannot_be_overturned():
    item = Item.model_validate({"id": "t", "type": "text", "text": {"zh": "t", "en": "t"}})
    assert loop.corrected_answer(item) is None


# ---- effect windows in whole months ---------------------------------------------------------


@pytest.mark.parametrize("day, months, expected", [
    ("2026-01-31", 1, "2026-02-28"), ("2028-01-31", 1, "2028-02-29"),
    ("2026-03-31", -1, "2026-02-28"), ("2026-11-15", 2, "2027-01-15"),
    ("2026-01-15", -2, "2025-11-15"), ("2026-05-20", 0, "2026-05-20"),
])
def test_add_months_keeps_the_day_or_takes_the_months_last(day, months, expected):
    assert loop.add_months(date.fromisoformat(day), months) == date.fromisoformat(expected)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
       st.integers(min_value=0, max_value=36))
@settings(max_examples=200)
def test_months_there_and_back_never_move_forward(day, months):
    later = loop.add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert loop.add_months(later, -months) <= day


def test_the_windows_are_whole_months_around_the_action():
    windows = loop.effect_windows(date(2026, 3, 10), date(2026, 4, 2), 2, today=date(2026, 5, 1))
    assert windows.before == (date(2026, 1, 10), date(2026, 3, 10))
    assert windows.after == (date(2026, 4, 3), date(2026, 5, 1))  # still running: cut at today
    assert windows.after_ends == date(2026, 6, 2) and not windows.complete
    assert loop.effect_windows(date(2026, 3, 10), date(2026, 4, 2), 2,
                               today=date(2026, 6, 20)).after == (date(2026, 4, 3), date(2026, 6, 2))


@pytest.mark.parametrize("today, months, due", [
    ("2026-06-01", 2, False), ("2026-06-02", 2, True), ("2026-05-02", 1, True),
    ("2026-09-01", 6, False),
])
def test_an_action_is_judged_after_the_configured_months(today, months, due):
    assert loop.flag_due(date(2026, 4, 2), months, date.fromisoformat(today)) is due
