"""Notices for managers (seed 003: 通知改进, 保持压力): what needs their attention now, computed
from the data on each visit (nothing to keep in step): new corrective actions, actions due
within two days, overdue actions, appeals decided, red lines failed in approved reports,
rounds past their end with visits in scope not yet submitted or approved (a shopper sees
their own unfinished visits on their list).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, select

from . import actions
from .cases import as_utc
from .domain import loop
from .models import (
    Appeal,
    Assignment,
    Response,
    Round,
    Store,
    Touchpoint,
    TouchpointScore,
    utcnow,
)

RECENT_DAYS = 14
NEW_DAYS = 7
DUE_SOON = timedelta(days=2)
NAMED_STORES = 5  # a round's notice names this many of its unfinished stores
FINISHED = ("submitted", "approved")  # as the round's board counts them (rounds.service)


@dataclass(frozen=True)
class Notice:
    kind: str  # new_action | due_soon | overdue | appeal_decided | red_line | round_unfinished
    at: datetime
    store: Store | None  # None for a round's notice, which names its stores
    touchpoint: Touchpoint | None = None
    action_id: int | None = None
    appeal_id: int | None = None
    response_id: int | None = None
    round: Round | None = None
    unfinished: int = 0  # visits of the round in scope not submitted or approved
    visits: int = 0  # visits of the round in scope
    stores: tuple[str, ...] = ()  # the first unfinished stores' names
    more_stores: int = 0  # unfinished stores beyond those named


def unfinished_rounds(session: Session, store_ids: set[int] | None, *,
                      today: date | None = None, limit: int = 20) -> list[Notice]:
    """Rounds whose period has ended with visits in scope neither submitted nor approved
    (missing, a draft, returned, or judged invalid), latest round first: one GROUP BY for
    the counts, one query for the stores to name."""
    today = today or date.today()
    open_visit = case((Response.status.in_(FINISHED), 0), else_=1)
    base = _stores(
        select(Round, func.count(Assignment.id), func.sum(open_visit))
        .join(Assignment, Assignment.round_id == Round.id)
        .outerjoin(Response, Response.assignment_id == Assignment.id)
        .where(Round.period_end < today, Assignment.cancelled_at.is_(None)),
        Assignment.store_id, store_ids)
    rounds = [(r, int(total), int(todo or 0)) for r, total, todo in session.exec(
        base.group_by(Round.id).having(func.sum(open_visit) > 0)
        .order_by(Round.period_end.desc(), Round.id.desc()).limit(limit))]
    if not rounds:
        return []
    names: dict[int, list[str]] = {}
    for round_id, name in session.exec(_stores(
            select(Assignment.round_id, Store.name).distinct()
            .join(Store, Store.id == Assignment.store_id)
            .outerjoin(Response, Response.assignment_id == Assignment.id)
            .where(Assignment.round_id.in_([r.id for r, _t, _u in rounds]),
                   Assignment.cancelled_at.is_(None),
                   (Response.id.is_(None)) | Response.status.not_in(FINISHED)),
            Assignment.store_id, store_ids).order_by(Assignment.round_id, Store.name)):
        names.setdefault(round_id, []).append(name)
    return [Notice("round_unfinished",
                   datetime.combine(r.period_end, datetime.min.time(), utcnow().tzinfo), None,
                   round=r, unfinished=todo, visits=total,
                   stores=tuple(names.get(r.id, [])[:NAMED_STORES]),
                   more_stores=max(0, len(names.get(r.id, [])) - NAMED_STORES))
            for r, total, todo in rounds]


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
    out.extend(unfinished_rounds(session, store_ids, today=now.date()))
    order = {"overdue": 0, "due_soon": 1, "red_line": 2, "round_unfinished": 3,
             "new_action": 4, "appeal_decided": 5}
    return sorted(out, key=lambda n: (order[n.kind], -n.at.timestamp()))
