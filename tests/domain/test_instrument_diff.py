"""The difference between two versions, one row per kind of change."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.definitions import load_taxonomy, parse_instrument
from app.domain.instrument_diff import diff

ROOT = Path(__file__).resolve().parent.parent.parent
CASE = (ROOT / "tests" / "data" / "shop-case.yaml").read_text(encoding="utf-8")
IDS = load_taxonomy(ROOT / "surveys" / "touchpoints.yaml").ids()


def _parse(text: str):
    return parse_instrument(text, "case.yaml", IDS)


def test_same_content_has_no_changes():
    assert diff(_parse(CASE), _parse(CASE)) == []


def test_first_version_is_all_added():
    instrument = _parse(CASE)
    assert {c.kind for c in diff(None, instrument)} == {"added"}
    assert len(diff(None, instrument)) == len(instrument.items())


@pytest.mark.parametrize("old, new, kind, item", [
    ("id: card_given", "id: card_handed", "added", "card_handed"),
    ("id: card_given", "id: card_handed", "removed", "card_given"),
])
def test_renamed_item_is_removed_and_added(old, new, kind, item):
    changes = diff(_parse(CASE), _parse(CASE.replace(old, new).replace(
        "card_given ==", "card_handed ==")))
    assert (kind, item) in {(c.kind, c.item_id) for c in changes}


@pytest.mark.parametrize("old, new, change", [
    ("30秒内有人问候", "30秒内有人主动问候", ("reworded", "greeted")),
    ("critical: true\n        text: {zh: 30秒", "critical: false\n        text: {zh: 30秒",
     ("critical", "greeted")),
    ("    weight: 2\n", "    weight: 3\n", ("reweighted", "touchpoint:greeting")),
    ("      - id: card_given\n", "      - id: card_given\n        weight: 2\n",
     ("reweighted", "card_given")),
])
def test_each_kind_of_change(old, new, change):
    assert old in CASE
    changes = diff(_parse(CASE), _parse(CASE.replace(old, new, 1)))
    assert [(c.kind, c.item_id) for c in changes] == [change]
