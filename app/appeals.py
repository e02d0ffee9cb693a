"""Appeals (申诉): within APPEAL_DAYS of approval a store's manager contests individual item
results of a mystery shop, each with a reason and optional photo evidence; a reviewer
upholds or overturns each item. An overturn re-scores the response in the same transaction
as the decision (its answers, touchpoint scores and overall; every aggregate reads those
rows), and the answers and scores as they were are kept in `response_revision`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, select

from .calibration.compute import refresh_after
from .cases import as_utc
from .domain.definitions import Instrument, Item
from .domain.item_types import fraction
from .domain.loop import corrected_answer
from .instruments import definition
from .models import (
    Appeal,
    AppealItem,
    InstrumentVersion,
    Response,
    ResponseRevision,
    Store,
    User,
    utcnow,
)
from .responses import record_event, replace_answers, stored_answers, stored_scores

REASON_LIMIT = 2000


class AppealError(ValueError):
    """`code`: closed (not approved or past the deadline) | empty (no item or a reason
    missing) | item (not a contestable item) | again (an item already appealed) |
    decided (already decided) | decision (an item left without a decision)."""

    def __init__(self, code: str, item_id: str = ""):
        super().__init__(code)
        self.code, self.item_id = code, item_id


def deadline(response: Response, days: int) -> datetime | None:
    if response.reviewed_at is None:
        return None
    return as_utc(response.reviewed_at) + timedelta(days=days)


def is_open_for_appeal(response: Response, days: int, now: datetime | None = None) -> bool:
    last = deadline(response, days)
    return (response.kind == "mystery_shop" and response.status == "approved"
            and last is not None and (now or utcnow()) <= last)


def contestable(instrument: Instrument, answers: dict) -> list[Item]:
    """Items that lost points and that an overturn could correct."""
    out = []
    for item in instrument.items():
        if item.id not in answers or not item.scored:
            continue
        part = fraction(item, answers[item.id])
        if part is not None and part < 1 and corrected_answer(item) is not None:
            out.append(item)
    return out


def already_appealed(session: Session, response_id: int) -> set[str]:
    return set(session.exec(
        select(AppealItem.item_id).join(Appeal, Appeal.id == AppealItem.appeal_id)
        .where(Appeal.response_id == response_id)))


def _version(session: Session, response: Response) -> InstrumentVersion:
    return session.get(InstrumentVersion, response.instrument_version_id)


def file_appeal(session: Session, *, response: Response, user: User, days: int,
                items: dict[str, tuple[str, str | None]]) -> Appeal:
    """`items`: {item id: (reason, photo sha256 or None)}. Nothing is stored on error."""
    if not is_open_for_appeal(response, days):
        raise AppealError("closed")
    if not items:
        raise AppealError("empty")
    instrument = definition(_version(session, response))
    allowed = {item.id for item in contestable(instrument, stored_answers(session, response.id))}
    taken = already_appealed(session, response.id)
    for item_id, (reason, _sha) in items.items():
        if item_id not in allowed:
            raise AppealError("item", item_id)
        if item_id in taken:
            raise AppealError("again", item_id)
        if not reason.strip():
            raise AppealError("empty", item_id)
    answers = stored_answers(session, response.id)
    appeal = Appeal(response_id=response.id, store_id=response.store_id, opened_by=user.id,
                    deadline=deadline(response, days), overall_before=response.overall)
    session.add(appeal)
    session.flush()
    session.add_all(
        AppealItem(appeal_id=appeal.id, item_id=item_id, reason=reason.strip()[:REASON_LIMIT],
                   sha256=sha, value_before=json.dumps(answers[item_id], ensure_ascii=False))
        for item_id, (reason, sha) in sorted(items.items()))
    # the history shows the appeal's items and reasons from appeal_item (see appeal_events)
    record_event(session, response, "appealed", user.id)
    session.commit()
    return appeal


def items_of(session: Session, appeal_id: int) -> list[AppealItem]:
    return list(session.exec(select(AppealItem).where(AppealItem.appeal_id == appeal_id)
                             .order_by(AppealItem.id)))


def instruments_for(session: Session, responses: list[Response]) -> dict[int, Instrument]:
    """{response id: its checklist}, one query for the versions: item wording for lists."""
    versions = {v.id: definition(v) for v in session.exec(select(InstrumentVersion).where(
        InstrumentVersion.id.in_({r.instrument_version_id for r in responses} or {-1})))}
    return {r.id: versions[r.instrument_version_id] for r in responses}


def items_for(session: Session, appeal_ids: set[int]) -> dict[int, list[AppealItem]]:
    out: dict[int, list[AppealItem]] = {}
    for item in session.exec(select(AppealItem).where(
            AppealItem.appeal_id.in_(appeal_ids or {-1})).order_by(AppealItem.id)):
        out.setdefault(item.appeal_id, []).append(item)
    return out


def decide(session: Session, appeal: Appeal, reviewer: User,
           decisions: dict[str, tuple[str, str]]) -> None:
    """`decisions`: {item id: ("upheld" | "overturned", note)} for every item. Overturned
    items take the answer that earns full marks; the response is re-scored and its earlier
    answers and scores kept, all in one commit."""
    if appeal.status != "open":
        raise AppealError("decided")
    items = items_of(session, appeal.id)
    for item in items:
        decision = decisions.get(item.item_id, ("", ""))[0]
        if decision not in ("upheld", "overturned"):
            raise AppealError("decision", item.item_id)
    response = session.get(Response, appeal.response_id)
    version = _version(session, response)
    instrument = definition(version)
    answers = stored_answers(session, response.id)
    overturned = {i.item_id for i in items if decisions[i.item_id][0] == "overturned"}
    if overturned:
        session.add(ResponseRevision(
            response_id=response.id, reason=f"appeal:{appeal.id}",
            answers=json.dumps(answers, ensure_ascii=False),
            scores=json.dumps(stored_scores(session, response.id)), overall=response.overall))
        corrected = dict(answers)
        for item_id in overturned:
            corrected[item_id] = corrected_answer(instrument.item(item_id))
        replace_answers(session, response, version, corrected)
    now = utcnow()
    for item in items:
        decision, note = decisions[item.item_id]
        item.decision, item.note = decision, note.strip()[:REASON_LIMIT]
        if item.item_id in overturned:
            item.value_after = json.dumps(corrected_answer(instrument.item(item.item_id)),
                                          ensure_ascii=False)
        session.add(item)
    appeal.status, appeal.decided_at, appeal.decided_by = "decided", now, reviewer.id
    appeal.overall_after = response.overall
    session.add(appeal)
    record_event(session, response, "appeal_decided", reviewer.id)
    session.commit()
    if overturned:  # re-scored: the stored calibration fits covering this visit are stale
        refresh_after(session, [(response.stage, response.day)])


def appeal_events(session: Session, response_id: int, events: list) -> dict[int, Appeal]:
    """{event id: its appeal} for the response's "appealed" and "appeal_decided" events.

    Each event is written in the transaction that files or decides its appeal, so the n-th
    "appealed" event is the n-th appeal filed and the n-th "appeal_decided" the n-th decided."""
    filed = list(session.exec(select(Appeal).where(Appeal.response_id == response_id)
                              .order_by(Appeal.id)))
    decided = sorted((a for a in filed if a.decided_at is not None),
                     key=lambda a: (a.decided_at, a.id))
    out: dict[int, Appeal] = {}
    for kind, appeals in (("appealed", filed), ("appeal_decided", decided)):
        for event, appeal in zip((e for e in events if e.kind == kind), appeals, strict=False):
            out[event.id] = appeal
    return out


# ---- lists -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppealRow:
    appeal: Appeal
    response: Response
    store: Store
    shopper: User | None


def _base():
    return (select(Appeal, Response, Store, User)
            .join(Response, Response.id == Appeal.response_id)
            .join(Store, Store.id == Appeal.store_id)
            .outerjoin(User, User.id == Response.shopper_id))


def listing(session: Session, store_ids: set[int] | None, *, status: str | None = None,
            shopper_id: int | None = None, limit: int = 200) -> list[AppealRow]:
    query = _base()
    if store_ids is not None:
        query = query.where(Appeal.store_id.in_(store_ids or {-1}))
    if status is not None:
        query = query.where(Appeal.status == status)
    if shopper_id is not None:
        query = query.where(Response.shopper_id == shopper_id)
    order = Appeal.opened_at if status == "open" else Appeal.opened_at.desc()
    return [AppealRow(*r) for r in session.exec(query.order_by(order, Appeal.id).limit(limit))]


def get(session: Session, appeal_id: int, store_ids: set[int] | None) -> AppealRow | None:
    query = _base().where(Appeal.id == appeal_id)
    if store_ids is not None:
        query = query.where(Appeal.store_id.in_(store_ids or {-1}))
    found = session.exec(query).first()
    return AppealRow(*found) if found else None


def appealable_reports(session: Session, store_ids: set[int] | None, *, days: int,
                       limit: int = 100) -> list[tuple[Response, Store]]:
    """Approved reports of the stores still inside their appeal window, newest first."""
    since = utcnow() - timedelta(days=days)
    query = (select(Response, Store).join(Store, Store.id == Response.store_id)
             .where(Response.kind == "mystery_shop", Response.status == "approved",
                    Response.reviewed_at >= since)
             .order_by(Response.reviewed_at.desc()).limit(limit))
    if store_ids is not None:
        query = query.where(Response.store_id.in_(store_ids or {-1}))
    return list(session.exec(query))


@dataclass(frozen=True)
class ShopperRate:
    shopper: User
    reports: int
    appealed: int
    overturned_items: int
    decided_items: int = 0

    @property
    def rate(self) -> float | None:
        return 100.0 * self.appealed / self.reports if self.reports else None

    @property
    def overturn_rate(self) -> float | None:
        """% of the shopper's decided contested items that were overturned: how often a
        store was right against them."""
        return 100.0 * self.overturned_items / self.decided_items if self.decided_items else None


def rates_per_shopper(session: Session) -> list[ShopperRate]:
    """Per shopper: approved reports, how many were appealed, items decided and overturned."""
    reports = dict(session.exec(
        select(Response.shopper_id, func.count()).where(
            Response.kind == "mystery_shop", Response.status == "approved",
            Response.shopper_id.is_not(None)).group_by(Response.shopper_id)).all())
    appealed = dict(session.exec(
        select(Response.shopper_id, func.count(func.distinct(Appeal.response_id)))
        .join(Response, Response.id == Appeal.response_id)
        .group_by(Response.shopper_id)).all())
    decided: dict[int, tuple[int, int]] = {
        sid: (int(n), int(over or 0)) for sid, n, over in session.exec(
            select(Response.shopper_id, func.count(),
                   func.sum(case((AppealItem.decision == "overturned", 1), else_=0)))
            .select_from(AppealItem).join(Appeal, Appeal.id == AppealItem.appeal_id)
            .join(Response, Response.id == Appeal.response_id)
            .where(AppealItem.decision.in_(("upheld", "overturned")))
            .group_by(Response.shopper_id))}
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(set(reports) or {-1})))}
    rows = [ShopperRate(users[sid], n, appealed.get(sid, 0), decided.get(sid, (0, 0))[1],
                        decided.get(sid, (0, 0))[0])
            for sid, n in reports.items() if sid in users]
    return sorted(rows, key=lambda r: (-(r.rate or 0), r.shopper.username))


def revisions(session: Session, response_id: int) -> list[ResponseRevision]:
    return list(session.exec(select(ResponseRevision).where(
        ResponseRevision.response_id == response_id).order_by(ResponseRevision.id)))
