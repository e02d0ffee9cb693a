"""Time and number answers: only real times of day, only plausible finite numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.definitions import parse_instrument
from app.domain.item_types import NUMBER_LIMIT, AnswerError, is_time_of_day, parse_answer

DEFINITION = """
id: limits
version: 1
kind: mystery_shop
stage: sales
title: {zh: 限值, en: Limits}
sections:
  - touchpoint: greeting
    items:
      - {id: arrived, type: time, text: {zh: 到店, en: Arrived}}
      - {id: seconds, type: number, text: {zh: 秒数, en: Seconds}}
"""


@pytest.fixture(scope="module")
def items():
    instrument = parse_instrument(DEFINITION, "limits.yaml", {"greeting"})
    return instrument.item("arrived"), instrument.item("seconds")


@pytest.mark.parametrize("value", ["99:99", "24:00", "23:60", "9:30", "09:3", "0930", "09:30\n",
                                   " 09:30", "٠٩:٣٠", "", 930, None])
def test_impossible_times_are_refused(items, value):
    with pytest.raises(AnswerError, match="HH:MM"):
        parse_answer(items[0], value)


@given(st.integers(0, 23), st.integers(0, 59))
def test_every_time_of_day_is_accepted(hour, minute):
    assert is_time_of_day(f"{hour:02d}:{minute:02d}")


@given(st.text(max_size=8))
def test_a_time_is_exactly_two_digit_hours_and_minutes(text):
    expected = (len(text) == 5 and text[2] == ":" and text[:2].isascii() and text[3:].isascii()
                and text[:2].isdigit() and text[3:].isdigit()
                and int(text[:2]) < 24 and int(text[3:]) < 60)
    assert is_time_of_day(text) == expected


@pytest.mark.parametrize("value", [1e300, -1e300, 1e10, math.inf, -math.inf, math.nan,
                                   NUMBER_LIMIT * 1.5, True, "12"])
def test_implausible_numbers_are_refused(items, value):
    with pytest.raises(AnswerError):
        parse_answer(items[1], value)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers())
def test_a_number_is_stored_only_when_finite_and_within_the_limit(items, value):
    try:
        stored = parse_answer(items[1], value)
    except AnswerError:
        assert not math.isfinite(value) or abs(value) > NUMBER_LIMIT
    else:
        assert stored == value and abs(stored) <= NUMBER_LIMIT
