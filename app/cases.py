"""Closed loop: an unhappy customer answer opens a follow-up case for its store, due within
24 hours (seed 002, 4.3: first contact with the complainant within the set time); the store's
manager records the contact and the resolution and closes it.

Opens a case: an NPS answer of 0-6 (detractor), an overall satisfaction at the bottom of its
scale, or a customer asking to be called back (with consent). Cases of responses marked
invalid count nowhere: they drop out of every list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func
from sqlmodel import Session, select

from .domain.definitions import Instrument
from .domain.item_types import NA, nps_group
from .models import FollowUpCase, Response, Store, User, utcnow

REASONS = ("detractor", "low_overall", "call_back")
NOTE_LIMIT = 2000


class CaseError(ValueError):
    """`code`: closed (the case is already closed) | empty (a note or resolution is needed)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; everything here is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def reasons(instrument: Instrument, answers: dict[str, Any], *, call_back: bool) -> list[str]:
    """Why these answers need a follow-up (empty: they do not). Pure."""
    found = []
    nps = _nps(instrument, answers)
    if nps is not None and nps_group(nps) == "detractor":
        found.append("detractor")
    overall = _overall(instrument, answers)
    if overall is not None and overall == instrument.item(instrument.outcome).scale_range[0]:
        found.append("low_overall")
    if call_back:
        found.append("call_back")
    return found


def _nps(instrument: Instrument, answers: dict[str, Any]) -> int | None:
    for item in instrument.items():
        if item.type == "nps" and isinstance(answers.get(item.id), int):
            return answers[item.id]
    return None


def _overall(instrument: Instrument, answers: dict[str, Any]) -> int | None:
    item = instrument.item(instrument.outcome) if instrument.outcome else None
    if item is None or item.type != "scale":
        return None
    value = answers.get(item.id)
    return value if value is not None and value != NA else None


def open_if_needed(session: Session, *, response: Response, instrument: Instrument,
                   answers: dict[str, Any], phone: str = "", call_back: bool = False,
                   due_hours: int = 24) -> FollowUpCase | None:
    """Add a case for this response when its answers call for one (the caller commits)."""
    why = reasons(instrument, answers, call_back=call_back and bool(phone))
    if not why:
        return None
    now = utcnow()
    case = FollowUpCase(
        response_id=response.id, store_id=response.store_id, instrument_id=instrument.id,
        reasons=",".join(why), nps=_nps(instrument, answers), overall=_overall(instrument, answers),
        phone=phone if call_back else "", opened_at=now, due_at=now + timedelta(hours=due_hours),
    )
    session.add(case)
    return case


@dataclass(frozen=True)
class CaseRow:
    case: FollowUpCase
    store: Store
    overdue: bool

    @property
    def reason_list(self) -> list[str]:
        return self.case.reasons.split(",") if self.case.reasons else []


def _rows(session: Session, query, now: datetime) -> list[CaseRow]:
    out = []
    for case, store in session.exec(query):
        overdue = case.status == "open" and as_utc(case.due_at) < now
        out.append(CaseRow(case, store, overdue))
    return out


def listing(session: Session, store_ids: set[int] | None, *, status: str,
            limit: int = 200) -> list[CaseRow]:
    """Cases in scope (None = every store), open ones most urgent first, closed newest first."""
    query = (
        select(FollowUpCase, Store)
        .join(Store, Store.id == FollowUpCase.store_id)
        .join(Response, Response.id == FollowUpCase.response_id)
        .where(Response.status != "invalid", FollowUpCase.status == status)
    )
    if store_ids is not None:
        query = query.where(FollowUpCase.store_id.in_(store_ids or {-1}))
    order = (FollowUpCase.due_at,) if status == "open" else (FollowUpCase.closed_at.desc(),)
    return _rows(session, query.order_by(*order, FollowUpCase.id).limit(limit), utcnow())


def get(session: Session, case_id: int, store_ids: set[int] | None) -> CaseRow | None:
    """One case if it exists, its response is valid and it is in scope; else None (a 404)."""
    query = (
        select(FollowUpCase, Store)
        .join(Store, Store.id == FollowUpCase.store_id)
        .join(Response, Response.id == FollowUpCase.response_id)
        .where(FollowUpCase.id == case_id, Response.status != "invalid")
    )
    if store_ids is not None:
        query = query.where(FollowUpCase.store_id.in_(store_ids or {-1}))
    found = _rows(session, query, utcnow())
    return found[0] if found else None


def record_contact(session: Session, case: FollowUpCase, user: User, note: str) -> None:
    note = note.strip()[:NOTE_LIMIT]
    if case.status != "open":
        raise CaseError("closed")
    if not note:
        raise CaseError("empty")
    case.contact_note = note
    case.contacted_at = utcnow()
    case.contacted_by = user.id
    session.add(case)
    session.commit()


def close(session: Session, case: FollowUpCase, user: User, resolution: str) -> None:
    resolution = resolution.strip()[:NOTE_LIMIT]
    if case.status != "open":
        raise CaseError("closed")
    if not resolution:
        raise CaseError("empty")
    now = utcnow()
    case.resolution = resolution
    case.status = "closed"
    case.closed_at = now
    case.closed_by = user.id
    if case.contacted_at is None:  # closing means the customer was dealt with
        case.contacted_at, case.contacted_by = now, user.id
    session.add(case)
    session.commit()


def counts(session: Session, store_ids: set[int] | None) -> dict[str, int]:
    """Open and overdue totals in scope, in SQL."""
    query = (
        select(
            func.count(FollowUpCase.id),
            func.coalesce(func.sum(sql_case((FollowUpCase.due_at < utcnow(), 1), else_=0)), 0),
        )
        .join(Response, Response.id == FollowUpCase.response_id)
        .where(Response.status != "invalid", FollowUpCase.status == "open")
    )
    if store_ids is not None:
        query = query.where(FollowUpCase.store_id.in_(store_ids or {-1}))
    total, overdue = session.exec(query).one()
    return {"open": int(total), "overdue": int(overdue)}
