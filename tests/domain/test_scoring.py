"""Scoring exactly as DESIGN.md says: hand-computed cases and properties."""

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.definitions import parse_instrument
from app.domain.item_types import AnswerError
from app.domain.scoring import missing_required, score, validate_answers

DEFINITION = (Path(__file__).parent.parent / "data" / "scoring-case.yaml").read_text()
TOUCHPOINTS = {"greeting", "test_drive", "farewell"}


@pytest.fixture(scope="module")
def instrument():
    return parse_instrument(DEFINITION, "case.yaml", TOUCHPOINTS)


def run(instrument, raw):
    return score(instrument, validate_answers(instrument, raw)).as_json(digits=None)


@pytest.mark.parametrize(
    ("answers", "greeting", "test_drive", "overall"),
    [
        # greeting: (3*1 + 1*1 + 1*0) / 5 = 80; test drive: (0.25 + 2*0.75 + 0.5) / 4 = 56.25
        ({"greeted": "yes", "smiled": "yes", "card": "no", "offer": "asked", "rating": 4,
          "wait": 45}, 80.0, 56.25, (10 * 80 + 5 * 56.25) / 15),
        # N/A and a hidden item drop out: greeting = 0 (critical), card hidden -> ignored
        ({"greeted": "no", "smiled": "na", "card": "yes", "offer": "unprompted"}, 0.0, 100.0,
         (10 * 0 + 5 * 100) / 15),
        # only unscored answers in test drive: null; overall from greeting alone
        ({"greeted": "yes", "offer": "unsure", "seconds": 12, "note": "ok", "nps": 3},
         100.0, None, 100.0),
        # nothing that counts anywhere
        ({"smiled": "na"}, None, None, None),
    ],
)
def test_hand_computed(instrument, answers, greeting, test_drive, overall):
    result = run(instrument, answers)
    assert result["touchpoints"]["greeting"] == pytest.approx(greeting) if greeting is not None \
        else result["touchpoints"]["greeting"] is None
    if test_drive is None:
        assert result["touchpoints"]["test_drive"] is None
    else:
        assert result["touchpoints"]["test_drive"] == pytest.approx(test_drive)
    assert (result["overall"] is None) if overall is None else result["overall"] == pytest.approx(overall)


def test_critical_failure_zeroes_and_is_recorded(instrument):
    result = run(instrument, {"greeted": "no", "smiled": "yes", "offer": "unprompted"})
    assert result["touchpoints"]["greeting"] == 0
    assert result["critical_failed"] == ["greeting"]
    assert run(instrument, {"greeted": "yes"})["critical_failed"] == []


def test_zero_weight_touchpoint_is_scored_but_not_in_overall(instrument):
    result = run(instrument, {"greeted": "yes", "bye": "no"})
    assert result["touchpoints"]["farewell"] == 0
    assert result["overall"] == 100


def test_cli_contract_rounds_to_two_decimals(instrument):
    parsed = validate_answers(instrument, {"greeted": "yes", "smiled": "no", "card": "no"})
    assert score(instrument, parsed).as_json()["touchpoints"]["greeting"] == 60.0
    parsed = validate_answers(instrument, {"offer": "asked", "rating": 2, "wait": 10})
    assert score(instrument, parsed).as_json()["touchpoints"]["test_drive"] == 43.75
    parsed = validate_answers(instrument, {"greeted": "yes", "smiled": "no", "offer": "asked"})
    assert score(instrument, parsed).as_json()["overall"] == round((10 * 75 + 5 * 25) / 15, 2)


@pytest.mark.parametrize(
    ("answers", "item", "words"),
    [
        ({"greeting": "yes"}, "greeting", "unknown item"),
        ({"greeted": "maybe"}, "greeted", "'yes' or 'no'"),
        ({"greeted": True}, "greeted", "'yes' or 'no'"),
        ({"greeted": "na"}, "greeted", "N/A is not allowed"),
        ({"rating": 6}, "rating", "outside 1..5"),
        ({"rating": 2.5}, "rating", "whole number"),
        ({"rating": "4"}, "rating", "whole number"),
        ({"nps": 11}, "nps", "outside 0..10"),
        ({"offer": "sometimes"}, "offer", "not one of the options"),
        ({"wait": "long"}, "wait", "expected a number"),
        ({"wait": float("nan")}, "wait", "expected a number"),
        ({"note": 5}, "note", "expected text"),
        ({"note": "x" * 2001}, "note", "longer than"),
    ],
)
def test_invalid_answers_name_the_item(instrument, answers, item, words):
    with pytest.raises(AnswerError) as caught:
        validate_answers(instrument, answers)
    assert caught.value.item_id == item
    assert words in caught.value.message


def test_answers_to_hidden_items_are_ignored_even_if_invalid(instrument):
    assert "card" not in validate_answers(instrument, {"greeted": "no", "card": "garbage"})


def test_missing_required_counts_only_shown_items(instrument):
    missing = missing_required(instrument, validate_answers(instrument, {"greeted": "no"}))
    assert "card" not in missing and "note" not in missing and "smiled" in missing


# --- properties ------------------------------------------------------------------------

def answer_strategy(item):
    options = {
        "yes_no": st.sampled_from(["yes", "no"] + (["na"] if item.na else [])),
        "choice": st.sampled_from([o.value for o in item.options or []]),
        "scale": st.integers(*item.scale_range),
        "nps": st.integers(0, 10),
        "number": st.integers(0, 200),
        "text": st.text(max_size=20),
    }
    return st.one_of(st.none(), options[item.type])


@st.composite
def answer_sets(draw, instrument):
    answers = {}
    for item in instrument.items():
        value = draw(answer_strategy(item))
        if value is not None:
            answers[item.id] = value
    return answers


def _instrument():
    return parse_instrument(DEFINITION, "case.yaml", TOUCHPOINTS)


@settings(max_examples=150)
@given(answer_sets(_instrument()))
def test_scores_stay_within_0_and_100(answers):
    instrument = _instrument()
    result = score(instrument, validate_answers(instrument, answers))
    for value in [result.overall, *result.touchpoints.values()]:
        assert value is None or 0 <= value <= 100


@settings(max_examples=100)
@given(answer_sets(_instrument()), st.sampled_from(["smiled", "card", "offer", "rating", "wait"]))
def test_na_and_hidden_answers_change_nothing(answers, item_id):
    instrument = _instrument()
    base = dict(answers)
    base.pop(item_id, None)
    before = score(instrument, validate_answers(instrument, base))
    if item_id == "smiled":
        after = score(instrument, validate_answers(instrument, {**base, "smiled": "na"}))
        assert after == before
    if item_id == "card" and base.get("greeted") != "yes":
        after = score(instrument, validate_answers(instrument, {**base, "card": "no"}))
        assert after == before


@settings(max_examples=100)
@given(answer_sets(_instrument()), st.floats(0.01, 1000), st.sampled_from(["greeting", "test_drive"]))
def test_scaling_item_weights_of_a_touchpoint_changes_nothing(answers, factor, touchpoint):
    original = _instrument()
    data = original.model_dump(mode="json")
    for section in data["sections"]:
        if section["touchpoint"] == touchpoint:
            for item in section["items"]:
                item["weight"] = item["weight"] * factor
    scaled = type(original).model_validate(data)
    a = score(original, validate_answers(original, answers))
    b = score(scaled, validate_answers(scaled, answers))
    for tp in a.touchpoints:
        x, y = a.touchpoints[tp], b.touchpoints[tp]
        assert (x is None and y is None) or math.isclose(x, y, abs_tol=1e-9)


@settings(max_examples=100)
@given(answer_sets(_instrument()))
def test_failed_critical_item_zeroes_its_touchpoint(answers):
    instrument = _instrument()
    answers = {**answers, "greeted": "no"}
    result = score(instrument, validate_answers(instrument, answers))
    assert result.touchpoints["greeting"] == 0
    assert "greeting" in result.critical_failed


@settings(max_examples=100)
@given(st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(max_size=5),
                                                      st.floats(), st.booleans()), max_size=5))
def test_arbitrary_answers_are_accepted_or_refused_cleanly(raw):
    instrument = _instrument()
    try:
        parsed = validate_answers(instrument, raw)
    except AnswerError as error:
        assert error.message
        assert error.item_id in raw
        return
    score(instrument, parsed)


def test_overall_is_weighted_by_touchpoint_weight():
    instrument = _instrument()
    result = score(instrument, validate_answers(instrument, {"greeted": "yes", "offer": "asked"}))
    assert result.overall == pytest.approx((10 * 100 + 5 * 25) / 15)
