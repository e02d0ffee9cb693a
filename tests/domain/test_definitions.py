"""The loader: each class of problem is reported as FILE:LINE: message, never a traceback."""

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.definitions import DefinitionError, parse_instrument

TOUCHPOINTS = {"greeting", "test_drive", "farewell"}

VALID = """\
id: tiny-shop
version: 1
kind: mystery_shop
stage: sales
title: {zh: 小检查, en: Tiny check}
sections:
  - touchpoint: greeting
    weight: 2
    items:
      - id: greeted
        type: yes_no
        text: {zh: 有人问候, en: Greeted}
        critical: true
      - id: card_given
        type: yes_no
        text: {zh: 递名片, en: Card given}
        show_if: "greeted == 'yes'"
  - touchpoint: test_drive
    items:
      - id: offered
        type: choice
        text: {zh: 试驾邀请, en: Test drive offer}
        options:
          - {value: unprompted, text: {zh: 主动, en: Unprompted}, score: 1}
          - {value: asked, text: {zh: 询问后, en: When asked}, score: 0.5}
          - {value: never, text: {zh: 没有, en: Never}, score: 0}
      - id: wait
        type: number
        text: {zh: 等待秒数, en: Seconds waited}
        bands: [{max: 30, score: 1}, {max: 60, score: 0.5}, {score: 0}]
      - id: rating
        type: scale
        min: 1
        max: 5
        text: {zh: 评分, en: Rating}
"""


def problems_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(DefinitionError) as caught:
        parse_instrument(textwrap.dedent(text), "x.yaml", TOUCHPOINTS)
    for problem in caught.value.problems:
        assert str(problem).startswith(f"x.yaml:{problem.line}: ")
    return [(p.line, p.message) for p in caught.value.problems]


def test_valid_definition_loads():
    instrument = parse_instrument(VALID, "x.yaml", TOUCHPOINTS)
    assert [i.id for i in instrument.items()] == ["greeted", "card_given", "offered", "wait", "rating"]
    assert instrument.touchpoint_weights() == {"greeting": 2, "test_drive": 1}
    assert instrument.item("card_given").condition == {
        "cmp": "==", "left": {"var": "greeted"}, "right": {"lit": "yes"}}


def test_content_hash_ignores_comments_and_layout():
    reformatted = VALID.replace("title: {zh: 小检查, en: Tiny check}",
                                "# a comment\ntitle:\n  en: Tiny check\n  zh: 小检查")
    a = parse_instrument(VALID, "x.yaml", TOUCHPOINTS).content_hash()
    assert parse_instrument(reformatted, "x.yaml", TOUCHPOINTS).content_hash() == a
    changed = VALID.replace("weight: 2", "weight: 3")
    assert parse_instrument(changed, "x.yaml", TOUCHPOINTS).content_hash() != a


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("kind: mystery_shop", "kind: mystery_shop: x", 3, "YAML syntax"),
        ("  - touchpoint: test_drive", "  - touchpoint: test_driving", 18, "unknown touchpoint 'test_driving'"),
        ("        type: scale", "        type: slider", 32, "unknown type 'slider'"),
        ("      - id: card_given", "      - id: greeted", 14, "duplicate item id 'greeted'"),
        ("        text: {zh: 递名片, en: Card given}", "        text: {en: Card given}", 16, "text.zh"),
        ("        text: {zh: 有人问候, en: Greeted}", "        text: {zh: 有人问候}", 12, "text.en"),
        ("        text: {zh: 有人问候, en: Greeted}", "        text: {zh: 有人问候, en: ''}", 12, "must not be empty"),
        ("    weight: 2", "    weight: -2", 8, "must be at least 0"),
        ("        critical: true", "        critical: true\n        weight: -1", 14, "must be at least 0"),
        ("score: 0.5}", "score: 1.5}", 25, "must be at most 1"),
        ("score: 0}", "score: -0.1}", 26, "must be at least 0"),
        ("        min: 1\n        max: 5", "        min: 5\n        max: 5", 33, "min (5) must be below max (5)"),
        ("show_if: \"greeted == 'yes'\"", "show_if: \"greeted == 'yes\"", 17, "show_if syntax error at column 12: unclosed string"),
        ("show_if: \"greeted == 'yes'\"", "show_if: \"greted == 'yes'\"", 17, "unknown item 'greted'"),
        ("show_if: \"greeted == 'yes'\"", "show_if: \"rating > 3\"", 17, "'rating', which is not an earlier item"),
        ("show_if: \"greeted == 'yes'\"", "show_if: \"card_given == 'yes'\"", 17, "not an earlier item"),
        ("        critical: true", "        critical: true\n        colour: red", 14, "unknown field"),
        ("version: 1", "version: one", 2, "whole number"),
        ("kind: mystery_shop", "kind: mystery", 3, "must be one of"),
        ("        critical: true", "        critical: true\n        type: text", 14, "duplicate key 'type'"),
        ("      - id: rating", "      - id: Rating!", 31, "not a valid id"),
        ("        bands: [{max: 30, score: 1}, {max: 60, score: 0.5}, {score: 0}]",
         "        bands: [{max: 60, score: 1}, {max: 30, score: 0.5}, {score: 0}]", 30, "must increase"),
        ("        min: 1\n", "        options: [{value: a, text: {zh: 甲, en: A}}]\n        min: 1\n", 33, "'options' does not apply to scale"),
    ],
)
def test_each_problem_names_its_line(old, new, line, words):
    assert old in VALID
    found = problems_of(VALID.replace(old, new, 1))
    assert any(n == line and words in m for n, m in found), found


def test_missing_field_points_at_its_parent():
    found = problems_of(VALID.replace("        type: yes_no\n", "", 1))
    assert (10, "sections[0].items[0].type: required field is missing") in found


def test_outcome_must_name_an_item():
    found = problems_of("outcome: overall\n" + VALID)
    assert any("outcome names unknown item 'overall'" in m for _, m in found)


def test_several_problems_are_all_reported():
    text = VALID.replace("weight: 2", "weight: -2").replace("en: Rating}", "en: ''}")
    assert len(problems_of(text)) == 2


@pytest.mark.parametrize("text", ["", "# nothing\n", "- a\n- b\n", "just text", "42"])
def test_empty_or_wrong_shape(text):
    assert problems_of(text)


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_loader(text):
    try:
        parse_instrument(text, "x.yaml", TOUCHPOINTS)
    except DefinitionError as error:
        assert error.problems
        assert all(p.line >= 1 for p in error.problems)


@settings(max_examples=200)
@given(st.integers(0, len(VALID) - 1), st.text(max_size=8))
def test_mangled_definitions_never_crash(position, insertion):
    text = VALID[:position] + insertion + VALID[position:]
    try:
        parse_instrument(text, "x.yaml", TOUCHPOINTS)
    except DefinitionError as error:
        assert error.problems
