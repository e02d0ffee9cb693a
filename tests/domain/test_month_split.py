"""A date range splits into whole months and edges that cover every day exactly once."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.ranking import month_split

days = st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 12, 31))


@settings(deadline=None)
@given(days, st.integers(min_value=0, max_value=800))
def test_months_and_edges_cover_the_range_once(start, length):
    end = start + timedelta(days=length)
    split = month_split(start, end)
    covered = []
    for month in split.month_list():
        day = month
        while day.month == month.month:
            covered.append(day)
            day += timedelta(days=1)
    for first, last in split.edges:
        assert (first.year, first.month) == (last.year, last.month)  # one month each
        covered += [first + timedelta(days=i) for i in range((last - first).days + 1)]
    assert sorted(covered) == [start + timedelta(days=i) for i in range(length + 1)]
    assert len(split.edges) <= 2


def test_a_month_is_one_whole_month_and_no_edges():
    split = month_split(date(2026, 2, 1), date(2026, 2, 28))
    assert split.month_list() == [date(2026, 2, 1)] and split.edges == ()


def test_an_empty_range_has_nothing():
    assert month_split(date(2026, 2, 2), date(2026, 2, 1)).edges == ()
