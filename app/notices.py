"""Notices for managers (seed 003: 通知改进, 保持压力): what needs their attention now, computed
from the data on each visit (nothing to keep in step): new corrective actions, actions due
within two days, overdue actions, appeals decided, red lines failed in approved reports.
Rounds of visits do not exist yet; their "not finished" notice comes with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from . import actions
from .cases import as_utc
from .domain import loop
from .models import Appeal, Response, Store, Touchpoint, TouchpointScore, utcnow

RECENT_DAYS = 14
NEW_DAYS = 7
DUE_SOON = timedelta(days=2)


@dataclass(frozen=True)
class Notice:
    kind: str  # new_action | due_soon | overdue | appeal_decided | red_line
    at: datetime
    store: Store
    touchpoint: Touchpoint | None = None
    action_id: int | None = None
    appeal_id: int | None = None
    response_id: int | None = None


def _stores(query, column, store_ids):
    return query if store_ids is None else query.where(column.in_(store_ids or {-1}))


def for_scope(session: Session, store_ids: set[int] | None, *,
              now: datetime | None = None) -> list[Notice]:
    now = now or utcnow()
    out: list[Notice] = []
    for row in actions.listing(session, store_ids, status="active"):
        a = row.action
        due = as_utc(a.due_at)
        if a.status in loop.ACTIVE and due < now:
            out.append(Notice("overdue", due, row.store, row.touchpoint, action_id=a.id))
        elif a.status in loop.ACTIVE and due < now + DUE_SOON:
            out.append(Notice("due_soon", due, row.store, row.touchpoint, action_id=a.id))
        if as_utc(a.opened_at) >= now - timedelta(days=NEW_DAYS):
            out.append(Notice("new_action", as_utc(a.opened_at), row.store, row.touchpoint,
                              action_id=a.id))
    decided = session.exec(_stores(
        select(Appeal, Store).join(Store, Store.id == Appeal.store_id)
        .where(Appeal.status == "decided",
               Appeal.decided_at >= now - timedelta(days=RECENT_DAYS)),
        Appeal.store_id, store_ids).order_by(Appeal.decided_at.desc()).limit(50))
    out.extend(Notice("appeal_decided", as_utc(appeal.decided_at), store,
                      appeal_id=appeal.id) for appeal, store in decided)
    s = TouchpointScore
    failed = session.exec(_stores(
        select(s.response_id, s.day, Store, Touchpoint, Response.reviewed_at)
        .join(Store, Store.id == s.store_id).join(Touchpoint, Touchpoint.id == s.touchpoint_id)
        .join(Response, Response.id == s.response_id)
        .where(s.counted, s.critical_failed, s.kind == "mystery_shop",
               s.day >= date.today() - timedelta(days=RECENT_DAYS)),
        s.store_id, store_ids).order_by(s.day.desc()).limit(50))
    for response_id, day, store, tp, reviewed in failed:
        at = as_utc(reviewed) if reviewed else datetime.combine(day, datetime.min.time(),
                                                                now.tzinfo)
        out.append(Notice("red_line", at, store, tp, response_id=response_id))
    order = {"overdue": 0, "due_soon": 1, "red_line": 2, "new_action": 3, "appeal_decided": 4}
    return sorted(out, key=lambda n: (order[n.kind], -n.at.timestamp()))
