import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.show_if import ShowIfError, evaluate, names, parse


@pytest.mark.parametrize(
    ("expression", "answers", "expected"),
    [
        ("a == 'yes'", {"a": "yes"}, True),
        ("a == 'yes'", {"a": "no"}, False),
        ("a != 'yes'", {"a": "no"}, True),
        ("a == 'yes'", {}, False),  # missing answer: comparison is false
        ("a != 'yes'", {}, False),  # ... whichever the operator
        ("not a == 'yes'", {}, True),
        ("n >= 4", {"n": 4}, True),
        ("n > 4", {"n": 4}, False),
        ("n < 4.5", {"n": 4}, True),
        ("n <= 3", {"n": 4}, False),
        ("n > 3", {"n": "na"}, False),  # N/A is no number
        ("c in ['x', 'y']", {"c": "y"}, True),
        ("c in ['x', 'y']", {"c": "z"}, False),
        ("c not in ['x', 'y']", {"c": "z"}, True),
        ("c in [1, 2]", {"c": 2}, True),
        ("a == 'yes' and b == 'no'", {"a": "yes", "b": "no"}, True),
        ("a == 'yes' and b == 'no'", {"a": "yes"}, False),
        ("a == 'yes' or b == 'no'", {"b": "no"}, True),
        ("not (a == 'yes' or b == 'no')", {"a": "no", "b": "yes"}, True),
        ("a == 'yes' or b == 'no' and c == 1", {"a": "yes"}, True),  # and binds tighter
        ("(a == 'yes' or b == 'no') and c == 1", {"a": "yes"}, False),
        ('a == "it\'s"', {"a": "it's"}, True),
        ("a", {"a": "yes"}, True),
        ("a", {"a": "no"}, False),
        ("a", {}, False),
        ("flag == true", {"flag": True}, True),
        ("n == 1", {"n": True}, False),  # a boolean is not the number 1
        ("n == 5", {"n": 5.0}, True),
    ],
)
def test_evaluate(expression, answers, expected):
    assert evaluate(parse(expression), answers) is expected


def test_no_condition_always_holds():
    assert evaluate(None, {}) is True


@pytest.mark.parametrize(
    ("expression", "position"),
    [
        ("a ==", 4),
        ("a == 'yes", 5),
        ("(a == 1", 7),
        ("a == 1)", 6),
        ("a = 1", 2),
        ("a in 1", 5),
        ("a in [b]", 6),
        ("and", 0),
        ("a == 1 b == 2", 7),
        ("", 0),
        ("   ", 0),
    ],
)
def test_syntax_errors_say_where(expression, position):
    with pytest.raises(ShowIfError) as caught:
        parse(expression)
    assert caught.value.position == position


def test_names_lists_each_item_once_in_order():
    assert names(parse("b == 1 and (a == 2 or b in [3]) and not c")) == ["b", "a", "c"]


def test_tree_is_json_for_the_phone():
    tree = parse("a == 'yes' and not (n >= 3.5 or c in ['x', 2])")
    assert json.loads(json.dumps(tree)) == tree


def test_deep_nesting_is_refused_not_a_crash():
    with pytest.raises(ShowIfError):
        parse("(" * 200 + "a" + ")" * 200)
    with pytest.raises(ShowIfError):
        parse("not " * 200 + "a")


def test_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    attempts = [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w')",
        "a.__class__",
        "[x for x in ()]",
        "lambda: 1",
    ]
    for attempt in attempts:
        with pytest.raises(ShowIfError):
            parse(attempt)
    assert not marker.exists()


@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_fails_cleanly(text):
    try:
        tree = parse(text)
    except ShowIfError as error:
        assert 0 <= error.position <= len(text)
        return
    json.dumps(tree)
    evaluate(tree, {})


_atoms = st.sampled_from(["a", "b", "c", "'yes'", "'no'", "1", "2.5", "-3", "true", "[1, 'x']"])
_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or", "not", "(", ")"])


@given(st.lists(st.one_of(_atoms, _ops), max_size=15), st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["yes", "no", "na", "x"]),
              st.floats(allow_nan=False, allow_infinity=False), st.booleans()),
))
def test_token_soup_never_crashes_and_evaluates_to_a_boolean(tokens, answers):
    try:
        tree = parse(" ".join(tokens))
    except ShowIfError:
        return
    assert evaluate(tree, answers) in (True, False)
