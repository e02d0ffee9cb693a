"""A response's history as the reviewer and the shopper see it: every step with who and when,
oldest first; an appeal's steps carry its items (what was contested, and how each was
decided), read from appeal_item, where they are never overwritten."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from .appeals import appeal_events, items_for
from .models import Appeal, AppealItem, ResponseEvent
from .responses import history


@dataclass(frozen=True)
class Entry:
    event: ResponseEvent
    who: str | None
    appeal: Appeal | None = None
    items: list[AppealItem] = field(default_factory=list)


def of_response(session: Session, response_id: int) -> list[Entry]:
    steps = history(session, response_id)
    appeals = appeal_events(session, response_id, [event for event, _ in steps])
    items = items_for(session, {a.id for a in appeals.values()})
    return [Entry(event, who, appeals.get(event.id),
                  items.get(appeals[event.id].id, []) if event.id in appeals else [])
            for event, who in steps]
