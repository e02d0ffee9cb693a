"""What changed between two versions of an instrument, in the words a reviewer of rules uses:
items added, removed, reworded, re-weighted, critical flag changed; touchpoints re-weighted."""

from __future__ import annotations

from dataclasses import dataclass

from .definitions import Instrument, Item

ADDED, REMOVED, REWORDED, REWEIGHTED, CRITICAL = (
    "added", "removed", "reworded", "reweighted", "critical")


@dataclass(frozen=True)
class Change:
    kind: str
    item_id: str  # an item id, or "touchpoint:<id>" for a section weight
    before: str = ""
    after: str = ""


def _items(instrument: Instrument) -> dict[str, tuple[str, Item]]:
    return {item.id: (section.touchpoint, item) for section in instrument.sections
            for item in section.items}


def _text(item: Item) -> str:
    return f"{item.text.zh} / {item.text.en}"


def diff(old: Instrument | None, new: Instrument) -> list[Change]:
    """Changes from `old` (None: nothing published yet, so everything is added) to `new`."""
    if old is None:
        return [Change(ADDED, item_id, after=_text(item))
                for item_id, (_tp, item) in _items(new).items()]
    before, after = _items(old), _items(new)
    changes = [Change(REMOVED, item_id, before=_text(item))
               for item_id, (_tp, item) in before.items() if item_id not in after]
    for item_id, (_tp, item) in after.items():
        if item_id not in before:
            changes.append(Change(ADDED, item_id, after=_text(item)))
            continue
        was = before[item_id][1]
        if (was.text, was.help, was.options) != (item.text, item.help, item.options):
            changes.append(Change(REWORDED, item_id, _text(was), _text(item)))
        if was.weight != item.weight:
            changes.append(Change(REWEIGHTED, item_id, f"{was.weight:g}", f"{item.weight:g}"))
        if was.critical != item.critical:
            changes.append(Change(CRITICAL, item_id, str(was.critical).lower(),
                                  str(item.critical).lower()))
    old_weights = {s.touchpoint: s.weight for s in old.sections}
    for section in new.sections:
        weight = old_weights.get(section.touchpoint)
        if weight is not None and weight != section.weight:
            changes.append(Change(REWEIGHTED, f"touchpoint:{section.touchpoint}",
                                  f"{weight:g}", f"{section.weight:g}"))
    return changes
