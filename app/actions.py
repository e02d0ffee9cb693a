"""Corrective actions (整改): opened by hand from the dashboard or automatically (a red line
failed in an approved report; a touchpoint clearly below target two months running), owned
by the store's manager, planned with a root cause and five whys, done with photo evidence,
verified or reopened by the region's manager. Every change lands in `action_event`.

The effect of an action is measured, not asserted: the store's touchpoint scores in the
window before it was opened against the window after it was done (app.domain.loop.effect).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Integer, case, extract, func, literal, true
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .cases import as_utc
from .domain import loop
from .domain.item_types import fraction
from .domain.ranking import Stats, months_between
from .instruments import definition
from .models import (
    ActionEvent,
    ActionPhoto,
    CorrectiveAction,
    InstrumentVersion,
    ManagerStore,
    Region,
    Response,
    Store,
    Touchpoint,
    TouchpointScore,
    TouchpointTarget,
    User,
    utcnow,
)
from .responses import stored_answers

TEXT_LIMIT = 4000
WHYS = 5


class ActionError(ValueError):
    """`code`: status (not allowed now) | empty (a required text is missing) | cause (not a
    category) | evidence (done without a photo) | store | touchpoint | item."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Settings:
    due_days: dict[str, int]
    root_causes: tuple[str, ...]
    effect_months: int = 2  # the length of the before and after windows of an action's effect
    not_yet_months: int = 2
    k: float = 5.0

    @classmethod
    def of(cls, config) -> Settings:
        return cls(dict(config["ACTION_DUE_DAYS"]), tuple(config["ROOT_CAUSES"]),
                   int(config["ACTION_EFFECT_MONTHS"]), int(config["ACTION_NOT_YET_MONTHS"]),
                   float(config.get("SHRINKAGE_K", 5)))


def is_region_manager(user: User) -> bool:
    """Region managers (and admins) verify or reopen; a store's own manager may not."""
    return user.role == "admin" or (user.role == "manager" and user.region_id is not None)


def store_owner(session: Session, store_id: int) -> int | None:
    """The store's manager: the first manager assigned to exactly this store."""
    return session.exec(
        select(ManagerStore.user_id).join(User, User.id == ManagerStore.user_id)
        .where(ManagerStore.store_id == store_id, User.active, User.role == "manager")
        .order_by(ManagerStore.user_id)
    ).first()


def _event(session: Session, action: CorrectiveAction, user_id: int | None, event: str,
           note: str = "", at: datetime | None = None) -> None:
    session.add(ActionEvent(action_id=action.id, user_id=user_id, event=event, at=at or utcnow(),
                            status=action.status, note=note[:TEXT_LIMIT]))


def open_action(session: Session, *, settings: Settings, store: Store, touchpoint_id: str,
                trigger: str, item_id: str = "", response_id: int | None = None,
                note: str = "", opened_by: int | None = None, trigger_key: str | None = None,
                now: datetime | None = None) -> CorrectiveAction:
    """Add an action and its first event (the caller commits)."""
    now = now or utcnow()
    action = CorrectiveAction(
        store_id=store.id, touchpoint_id=touchpoint_id, item_id=item_id, trigger=trigger,
        trigger_key=trigger_key, response_id=response_id, trigger_note=note[:TEXT_LIMIT],
        owner_id=store_owner(session, store.id), opened_by=opened_by, opened_at=now,
        due_at=now + timedelta(days=settings.due_days.get(trigger, 14)),
    )
    session.add(action)
    session.flush()
    _event(session, action, opened_by, "opened", note, at=now)
    return action


def open_by_hand(session: Session, *, settings: Settings, user: User, store: Store,
                 touchpoint_id: str, item_id: str, response_id: int | None,
                 note: str) -> CorrectiveAction:
    note = note.strip()
    if not note:
        raise ActionError("empty")
    tp = session.get(Touchpoint, touchpoint_id)
    if tp is None:
        raise ActionError("touchpoint")
    if response_id is not None:
        found = session.get(Response, response_id)
        if found is None or found.store_id != store.id:
            response_id = None  # a link to another store's evidence is dropped, never shown
    action = open_action(session, settings=settings, store=store, touchpoint_id=tp.id,
                         trigger="manual", item_id=item_id.strip()[:64], response_id=response_id,
                         note=note, opened_by=user.id)
    session.commit()
    return action


# ---- automatic triggers ------------------------------------------------------------------


def _open_once(session: Session, key: str, **fields) -> CorrectiveAction | None:
    """Open under a unique trigger key; a second call (a retry, a concurrent one) finds the
    key taken and opens nothing."""
    if session.exec(select(CorrectiveAction.id).where(
            CorrectiveAction.trigger_key == key)).first() is not None:
        return None
    try:
        with session.begin_nested():
            return open_action(session, trigger_key=key, **fields)
    except IntegrityError:
        return None


def failed_red_lines(session: Session, response: Response) -> list[tuple[str, str]]:
    """(touchpoint, critical item) for every red line the response failed."""
    failed = set(session.exec(select(TouchpointScore.touchpoint_id).where(
        TouchpointScore.response_id == response.id, TouchpointScore.critical_failed)))
    if not failed:
        return []
    instrument = definition(session.get(InstrumentVersion, response.instrument_version_id))
    answers = stored_answers(session, response.id)
    found = []
    for section in instrument.sections:
        if section.touchpoint not in failed:
            continue
        for item in section.items:
            if item.critical and item.id in answers and fraction(item, answers[item.id]) == 0:
                found.append((section.touchpoint, item.id))
                break
        else:
            found.append((section.touchpoint, ""))
    return found


def open_for_red_lines(session: Session, *, settings: Settings, response: Response,
                       now: datetime | None = None) -> list[CorrectiveAction]:
    """One action per failed red line of an approved report (idempotent; caller commits)."""
    store = session.get(Store, response.store_id)
    opened = []
    for tp, item_id in failed_red_lines(session, response):
        action = _open_once(session, f"red_line:{response.id}:{tp}", settings=settings,
                            store=store, touchpoint_id=tp, trigger="red_line", item_id=item_id,
                            response_id=response.id, now=now)
        if action is not None:
            opened.append(action)
    return opened


def targets(session: Session, store_ids: set[int] | None = None) -> dict:
    """{(store id, touchpoint): target} for stores with their own or their region's target,
    plus {touchpoint: network target} under the key (None, touchpoint)."""
    out = {(None, tp): target for tp, target in session.exec(
        select(Touchpoint.id, Touchpoint.target))}
    rows = session.exec(
        select(Store.id, TouchpointTarget.touchpoint_id, TouchpointTarget.target,
               TouchpointTarget.store_id)
        .join(TouchpointTarget, (TouchpointTarget.store_id == Store.id)
              | (TouchpointTarget.region_id == Store.region_id))
        .where(Store.id.in_(store_ids or {-1}) if store_ids is not None else true())
        .order_by(TouchpointTarget.store_id.is_(None).desc())  # region rows first, store wins
    )
    for store_id, tp, target, _own in rows:
        out[(store_id, tp)] = target
    return out


def target_for(table: dict, store_id: int, tp: str) -> float:
    return table.get((store_id, tp), table.get((None, tp), 85.0))


def _month_start(year: int, month: int) -> date:
    return date(year, month, 1)


def open_for_targets(session: Session, *, settings: Settings, month: date,
                     store_ids: set[int] | None = None) -> list[CorrectiveAction]:
    """Actions for store touchpoints clearly below target (shrunken 90% interval wholly
    below) in `month` and the month before. Opened once: not while an earlier one for the
    same store and touchpoint is still unverified, and never twice for the same month."""
    first = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    months = months_between(first, end)
    monthly = _monthly_stats(session, first, end, store_ids=store_ids)
    networks = _monthly_stats(session, first, end, store_ids=None, per_store=False)
    table = targets(session, store_ids)
    pending = set(session.exec(
        select(CorrectiveAction.store_id, CorrectiveAction.touchpoint_id).where(
            CorrectiveAction.trigger == "below_target", CorrectiveAction.status != "verified")))
    candidates = []
    for tp, store_id in sorted({(t, sid) for t, sid, _m in monthly}):
        if store_ids is not None and store_id not in store_ids:
            continue
        if (store_id, tp) in pending:
            continue
        target = target_for(table, store_id, tp)
        if all(loop.clearly_below(monthly.get((tp, store_id, m), Stats()),
                                  networks.get((tp, None, m), Stats()).mean or 0.0, settings.k,
                                  target)
               for m in months):
            candidates.append((store_id, tp, target))
    stores = {s.id: s for s in session.exec(
        select(Store).where(Store.id.in_({c[0] for c in candidates} or {-1})))}
    opened = []
    label = f"{month.year:04d}-{month.month:02d}"
    for store_id, tp, target in candidates:
        note = f"{months[0][0]:04d}-{months[0][1]:02d}, {label} < {target:.0f}"
        action = _open_once(session, f"below_target:{store_id}:{tp}:{label}", settings=settings,
                            store=stores[store_id], touchpoint_id=tp, trigger="below_target",
                            note=note)
        if action is not None:
            opened.append(action)
    return opened


def _monthly_stats(session: Session, start: date, end: date, *, store_ids: set[int] | None,
                   per_store: bool = True) -> dict:
    """{(touchpoint, store or None, (year, month)): Stats} of counted mystery shops, in SQL:
    per store (only `store_ids` when given), or for the whole network."""
    s = TouchpointScore
    year, month = extract("year", s.day), extract("month", s.day)
    store = s.store_id if per_store else literal(None, Integer)
    query = (
        select(s.touchpoint_id, store, year, month, func.count(), func.sum(s.score),
               func.sum(s.score * s.score))
        .where(s.counted, s.kind == "mystery_shop", s.day >= start, s.day <= end)
        .group_by(s.touchpoint_id, *([s.store_id] if per_store else []), year, month)
    )
    if per_store and store_ids is not None:
        query = query.where(s.store_id.in_(store_ids or {-1}))
    return {(tp, sid, (int(y), int(m))): Stats(int(n), float(t), float(q))
            for tp, sid, y, m, n, t, q in session.exec(query)}


# ---- the status flow ---------------------------------------------------------------------


def _move(session: Session, action: CorrectiveAction, user: User, event: str,
          note: str = "") -> None:
    try:
        action.status = loop.next_status(action.status, event)
    except loop.TransitionError as error:
        raise ActionError("status") from error
    _event(session, action, user.id, event, note)


def submit_plan(session: Session, action: CorrectiveAction, user: User, *, settings: Settings,
                root_cause: str, whys: list[str], plan: str) -> None:
    whys = [w.strip()[:500] for w in whys[:WHYS]]
    plan = plan.strip()[:TEXT_LIMIT]
    if root_cause not in settings.root_causes:
        raise ActionError("cause")
    if not plan or not any(whys):
        raise ActionError("empty")
    _move(session, action, user, "plan", plan)
    action.root_cause, action.plan = root_cause, plan
    action.whys = json.dumps(whys, ensure_ascii=False)
    session.add(action)
    session.commit()


def add_photo(session: Session, action: CorrectiveAction, user: User, sha256: str) -> None:
    if action.status not in ("plan_submitted", *loop.ACTIVE):
        raise ActionError("status")
    if session.get(ActionPhoto, (action.id, sha256)) is None:
        session.add(ActionPhoto(action_id=action.id, sha256=sha256))
        _event(session, action, user.id, "photo", sha256)
    session.commit()


def mark_done(session: Session, action: CorrectiveAction, user: User, note: str) -> None:
    if not photos(session, action.id):
        raise ActionError("evidence")
    _move(session, action, user, "done", note.strip())
    action.done_at = utcnow()
    session.add(action)
    session.commit()


def verify(session: Session, action: CorrectiveAction, user: User, *, accept: bool,
           note: str) -> None:
    note = note.strip()
    if not accept and not note:
        raise ActionError("empty")  # a reopened action says what is still missing
    _move(session, action, user, "verify" if accept else "reopen", note)
    if accept:
        action.verified_at, action.verified_by = utcnow(), user.id
    else:
        action.verified_at = action.verified_by = None
        action.due_at = utcnow() + timedelta(days=7)
    session.add(action)
    session.commit()


def item_text(session: Session, action: CorrectiveAction) -> dict | None:
    """The wording ({zh, en}) of the action's item: from the report that triggered it, else
    from the active checklists (an action opened by hand from an item drill-down)."""
    if not action.item_id:
        return None
    versions = []
    if action.response_id is not None:
        response = session.get(Response, action.response_id)
        if response is not None:
            versions.append(session.get(InstrumentVersion, response.instrument_version_id))
    versions += session.exec(select(InstrumentVersion).where(
        InstrumentVersion.active, InstrumentVersion.kind == "mystery_shop")).all()
    for version in versions:
        item = definition(version).item(action.item_id) if version else None
        if item is not None:
            return item.text.model_dump()
    return None


def photos(session: Session, action_id: int) -> list[str]:
    return list(session.exec(select(ActionPhoto.sha256).where(
        ActionPhoto.action_id == action_id).order_by(ActionPhoto.added_at)))


def history(session: Session, action_id: int) -> list[tuple[ActionEvent, User | None]]:
    return list(session.exec(
        select(ActionEvent, User).outerjoin(User, User.id == ActionEvent.user_id)
        .where(ActionEvent.action_id == action_id).order_by(ActionEvent.at, ActionEvent.id)))


# ---- effect --------------------------------------------------------------------------------


def _stats(session: Session, store_id: int, tp: str, start: date, end: date) -> Stats:
    s = TouchpointScore
    n, total, squares = session.exec(
        select(func.count(), func.coalesce(func.sum(s.score), 0.0),
               func.coalesce(func.sum(s.score * s.score), 0.0))
        .where(s.counted, s.kind == "mystery_shop", s.store_id == store_id,
               s.touchpoint_id == tp, s.day >= start, s.day <= end)).one()
    return Stats(int(n), float(total), float(squares))


def windows_of(action: CorrectiveAction, settings: Settings,
               today: date | None = None) -> loop.EffectWindows | None:
    """The before and after windows of a done action (None while it is not done)."""
    if action.done_at is None:
        return None
    return loop.effect_windows(as_utc(action.opened_at).date(), as_utc(action.done_at).date(),
                               settings.effect_months, today or date.today())


def effect_of(session: Session, action: CorrectiveAction, *, settings: Settings,
              today: date | None = None) -> loop.Effect | None:
    """The touchpoint's scores in the months before the action was opened against the
    months after it was done. None while it is not done."""
    windows = windows_of(action, settings, today)
    if windows is None:
        return None
    before = _stats(session, action.store_id, action.touchpoint_id, *windows.before)
    after = _stats(session, action.store_id, action.touchpoint_id, *windows.after)
    return loop.effect(before, after)


def stale(action: CorrectiveAction, result: loop.Effect | None, settings: Settings,
          today: date | None = None) -> bool:
    """Done `not_yet_months` whole months ago, yet not improved: flagged on the board."""
    if result is None or result.verdict == loop.IMPROVED or action.done_at is None:
        return False
    return loop.flag_due(as_utc(action.done_at).date(), settings.not_yet_months,
                         today or date.today())


# ---- lists -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRow:
    action: CorrectiveAction
    store: Store
    touchpoint: Touchpoint
    owner: User | None

    @property
    def overdue(self) -> bool:
        return self.action.status in loop.ACTIVE and as_utc(self.action.due_at) < utcnow()


def _scoped(query, store_ids: set[int] | None):
    if store_ids is None:
        return query
    return query.where(CorrectiveAction.store_id.in_(store_ids or {-1}))


def listing(session: Session, store_ids: set[int] | None, *, status: str = "active",
            owner_id: int | None = None, limit: int = 300) -> list[ActionRow]:
    """Actions in scope: active ones overdue first then by due date; closed newest first."""
    query = (
        select(CorrectiveAction, Store, Touchpoint, User)
        .join(Store, Store.id == CorrectiveAction.store_id)
        .join(Touchpoint, Touchpoint.id == CorrectiveAction.touchpoint_id)
        .outerjoin(User, User.id == CorrectiveAction.owner_id)
    )
    if status == "active":
        query = query.where(CorrectiveAction.status != "verified").order_by(
            CorrectiveAction.due_at, CorrectiveAction.id)
    else:
        query = query.where(CorrectiveAction.status == "verified").order_by(
            CorrectiveAction.verified_at.desc(), CorrectiveAction.id)
    if owner_id is not None:
        query = query.where(CorrectiveAction.owner_id == owner_id)
    rows = [ActionRow(*row) for row in session.exec(_scoped(query, store_ids).limit(limit))]
    # overdue first: the due-date order already puts them at the top among the active ones,
    # except "done" actions (waiting for the region), which are never overdue
    return sorted(rows, key=lambda r: not r.overdue) if status == "active" else rows


def get(session: Session, action_id: int, store_ids: set[int] | None) -> ActionRow | None:
    query = (
        select(CorrectiveAction, Store, Touchpoint, User)
        .join(Store, Store.id == CorrectiveAction.store_id)
        .join(Touchpoint, Touchpoint.id == CorrectiveAction.touchpoint_id)
        .outerjoin(User, User.id == CorrectiveAction.owner_id)
        .where(CorrectiveAction.id == action_id)
    )
    found = session.exec(_scoped(query, store_ids)).first()
    return ActionRow(*found) if found else None


@dataclass(frozen=True)
class RegionCounts:
    region: Region
    open: int
    overdue: int
    verified: int
    reopened: int


def counts_by_region(session: Session, store_ids: set[int] | None) -> list[RegionCounts]:
    """Open, overdue, verified and reopened actions per region in scope, one GROUP BY."""
    a = CorrectiveAction
    active = a.status.in_(loop.ACTIVE)
    query = (
        select(Region,
               func.sum(case((a.status != "verified", 1), else_=0)),
               func.sum(case((active & (a.due_at < utcnow()), 1), else_=0)),
               func.sum(case((a.status == "verified", 1), else_=0)),
               func.sum(case((a.status == "reopened", 1), else_=0)))
        .join(Store, Store.id == a.store_id).join(Region, Region.id == Store.region_id)
        .group_by(Region.id).order_by(Region.code)
    )
    return [RegionCounts(r, int(o or 0), int(d or 0), int(v or 0), int(x or 0))
            for r, o, d, v, x in session.exec(_scoped(query, store_ids))]


def stale_actions(session: Session, store_ids: set[int] | None, *, settings: Settings,
                  today: date | None = None) -> list[tuple[ActionRow, loop.Effect]]:
    """Actions done at least `not_yet_months` ago whose touchpoint has not improved: the
    board flags them. Two queries whatever the number of actions: the candidates, then the
    daily scores of their stores and touchpoints, summed per window here."""
    today = today or date.today()
    cutoff = loop.add_months(today, -settings.not_yet_months)
    query = (
        select(CorrectiveAction, Store, Touchpoint, User)
        .join(Store, Store.id == CorrectiveAction.store_id)
        .join(Touchpoint, Touchpoint.id == CorrectiveAction.touchpoint_id)
        .outerjoin(User, User.id == CorrectiveAction.owner_id)
        .where(CorrectiveAction.status.in_(("done", "verified")),
               CorrectiveAction.done_at <= datetime.combine(cutoff, datetime.min.time(), UTC))
    )
    rows = [ActionRow(*r) for r in session.exec(_scoped(query, store_ids).limit(500))]
    if not rows:
        return []
    first = loop.add_months(min(as_utc(r.action.opened_at).date() for r in rows),
                            -settings.effect_months)
    s = TouchpointScore
    daily = session.exec(
        select(s.store_id, s.touchpoint_id, s.day, func.count(), func.sum(s.score),
               func.sum(s.score * s.score))
        .where(s.counted, s.kind == "mystery_shop", s.day >= first,
               s.store_id.in_({r.action.store_id for r in rows}))
        .group_by(s.store_id, s.touchpoint_id, s.day)).all()
    by_pair: dict[tuple[int, str], list] = {}
    for store_id, tp, day, n, total, squares in daily:
        by_pair.setdefault((store_id, tp), []).append((day, Stats(int(n), float(total),
                                                                  float(squares))))
    out = []
    for row in rows:
        a = row.action
        windows = windows_of(a, settings, today)
        days = by_pair.get((a.store_id, a.touchpoint_id), [])
        (b0, b1), (a0, a1) = windows.before, windows.after
        before = Stats.total_of(st for d, st in days if b0 <= d <= b1)
        after = Stats.total_of(st for d, st in days if a0 <= d <= a1)
        result = loop.effect(before, after)
        if result.verdict != loop.IMPROVED:
            out.append((row, result))
    return out
