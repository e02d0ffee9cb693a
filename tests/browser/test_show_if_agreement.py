"""The phone and the server must never disagree about which questions are shown: the
JavaScript evaluator gives the same result as the Python one for the same tree and answers."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.show_if import ShowIfError, evaluate, parse

SCRIPT = Path(__file__).resolve().parent.parent.parent / "static" / "js" / "show_if.js"


@pytest.fixture(scope="module")
def js(browser):
    page = browser.new_page()
    page.set_content("<!doctype html><title>show_if</title>")
    page.add_script_tag(path=str(SCRIPT))
    yield page
    page.close()


_atoms = st.sampled_from(["a", "b", "c", "'yes'", "'no'", "'na'", "'x'", "''", "0", "1", "2.5", "-3",
                          "true", "false", "[1, 'x', 2.5]", "['yes', 'no']", "[]"])
_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or", "not", "(", ")"])
# strings stay in the Basic Multilingual Plane: beyond it JavaScript orders UTF-16 code units
_values = st.one_of(
    st.none(), st.integers(-5, 5), st.floats(-10, 10, allow_nan=False), st.booleans(),
    st.sampled_from(["yes", "no", "na", "x", "", "是"]),
    st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_atoms, _ops), min_size=1, max_size=12),
       st.dictionaries(st.sampled_from(["a", "b", "c"]), _values))
def test_javascript_and_python_agree(js, tokens, answers):
    try:
        tree = parse(" ".join(tokens))
    except ShowIfError:
        return
    expected = evaluate(tree, answers)
    got = js.evaluate("([tree, answers]) => window.showIf.evaluate(tree, answers)", [tree, answers])
    assert got is expected, (tree, answers)
