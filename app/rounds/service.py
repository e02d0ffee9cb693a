"""The database side of rounds: gather the planner's inputs in a few queries, store a
committed plan in one transaction, and report progress with SQL aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, insert, update
from sqlmodel import Session, select

from ..domain.rounds import Plan, Shopper, StoreNeed, plan_round
from ..models import (
    Assignment,
    Region,
    Response,
    Round,
    RoundQuota,
    ShopperConflict,
    ShopperRegion,
    Store,
    User,
    utcnow,
)


@dataclass(frozen=True)
class RoundSpec:
    name: str
    period_start: date
    period_end: date
    instrument_version_id: int
    quota: int
    exclusion_months: int
    window_days: int
    overrides: dict[int, int]  # region id -> quota for the stores below it
    seed: int


def _months_before(day: date, months: int) -> date:
    month = day.month - 1 - months
    year = day.year + month // 12
    return date(year, month % 12 + 1, 1) if months else day


def region_ancestors(session: Session) -> dict[int, frozenset[int]]:
    """region id -> itself and every region above it (one query; the tree is small)."""
    parents = dict(session.exec(select(Region.id, Region.parent_id)).all())
    out: dict[int, frozenset[int]] = {}
    for region in parents:
        chain, current = [], region
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        out[region] = frozenset(chain)
    return out


def _quota(regions: frozenset[int], overrides: dict[int, int], default: int,
           depth: dict[int, int]) -> int:
    """The override of the nearest region above the store, else the round's quota."""
    matching = [r for r in regions if r in overrides]
    if not matching:
        return default
    return overrides[max(matching, key=lambda r: depth[r])]


def planner_inputs(session: Session, spec: RoundSpec) -> tuple[list[StoreNeed], list[Shopper]]:
    above = region_ancestors(session)
    depth = {r: len(chain) for r, chain in above.items()}
    stores = [StoreNeed(sid, above[rid], _quota(above[rid], spec.overrides, spec.quota, depth))
              for sid, rid in session.exec(select(Store.id, Store.region_id)
                                           .where(Store.active).order_by(Store.id))]
    homes: dict[int, set[int]] = {}
    for uid, rid in session.exec(select(ShopperRegion.user_id, ShopperRegion.region_id)):
        homes.setdefault(uid, set()).add(rid)
    conflicts: dict[int, set[int]] = {}
    for uid, sid in session.exec(select(ShopperConflict.user_id, ShopperConflict.store_id)):
        conflicts.setdefault(uid, set()).add(sid)
    live = Assignment.cancelled_at.is_(None)
    since = _months_before(spec.period_start, spec.exclusion_months)
    recent: dict[int, set[int]] = {}
    for uid, sid in session.exec(select(Assignment.shopper_id, Assignment.store_id).where(
            live, Assignment.window_end >= since,
            Assignment.window_start <= spec.period_end).distinct()):
        recent.setdefault(uid, set()).add(sid)
    booked = dict(session.exec(select(Assignment.shopper_id, func.count()).where(
        live, Assignment.window_start <= spec.period_end,
        Assignment.window_end >= spec.period_start).group_by(Assignment.shopper_id)).all())
    shoppers = [Shopper(uid, frozenset(homes.get(uid, ())),
                        max(0, capacity - booked.get(uid, 0)),
                        frozenset(conflicts.get(uid, ())), frozenset(recent.get(uid, ())))
                for uid, capacity in session.exec(select(User.id, User.monthly_capacity).where(
                    User.role == "shopper", User.active).order_by(User.id))]
    return stores, shoppers


def make_plan(session: Session, spec: RoundSpec) -> Plan:
    stores, shoppers = planner_inputs(session, spec)
    return plan_round(stores, shoppers, spec.period_start, spec.period_end,
                      window_days=spec.window_days, seed=spec.seed)


def commit_round(session: Session, spec: RoundSpec, created_by: int | None) -> tuple[Round, Plan]:
    """Plan again from the same inputs and seed (what the preview showed), store it all."""
    plan = make_plan(session, spec)
    round_ = Round(name=spec.name, period_start=spec.period_start, period_end=spec.period_end,
                   instrument_version_id=spec.instrument_version_id, quota=spec.quota,
                   exclusion_months=spec.exclusion_months, seed=spec.seed,
                   created_by=created_by)
    session.add(round_)
    session.flush()
    session.add_all(RoundQuota(round_id=round_.id, region_id=r, quota=q)
                    for r, q in spec.overrides.items())
    now = utcnow()
    if plan.visits:
        session.connection().execute(insert(Assignment.__table__), [
            {"instrument_version_id": spec.instrument_version_id, "store_id": v.store_id,
             "shopper_id": v.shopper_id, "window_start": v.window_start,
             "window_end": v.window_end, "note": "", "created_by": created_by,
             "created_at": now, "round_id": round_.id} for v in plan.visits])
    session.commit()
    return round_, plan


# ---- progress -----------------------------------------------------------------------------

STATES = ("assigned", "in_progress", "submitted", "approved", "returned", "overdue")


def _state(today: date):
    """An assignment's state in SQL, from its one response (if any) and its window."""
    return case(
        (Response.status == "approved", "approved"),
        (Response.status == "submitted", "submitted"),
        (Response.status == "returned", "returned"),
        (Assignment.window_end < today, "overdue"),
        (Response.status == "draft", "in_progress"),
        else_="assigned",
    )


@dataclass
class BoardRow:
    store_id: int
    store_code: str
    store_name: str
    region_name: str
    counts: dict[str, int]
    shoppers: list[str]


def progress(session: Session, round_id: int, today: date | None = None) -> list[BoardRow]:
    today = today or date.today()
    state = _state(today).label("state")
    base = (select(Assignment.store_id, Assignment.shopper_id, state)
            .outerjoin(Response, Response.assignment_id == Assignment.id)
            .where(Assignment.round_id == round_id, Assignment.cancelled_at.is_(None))
            .subquery())
    rows = session.exec(
        select(base.c.store_id, Store.code, Store.name, Region.name,
               *[func.sum(case((base.c.state == s, 1), else_=0)) for s in STATES])
        .join(Store, Store.id == base.c.store_id).join(Region, Region.id == Store.region_id)
        .group_by(base.c.store_id, Store.code, Store.name, Region.name)
        .order_by(Region.name, Store.code)).all()
    names: dict[int, list[str]] = {}
    shopper = func.coalesce(func.nullif(User.display_name, ""), User.username).label("name")
    for store_id, name in session.exec(
            select(base.c.store_id, shopper)
            .join(User, User.id == base.c.shopper_id).distinct()
            .order_by(base.c.store_id, shopper)):
        names.setdefault(store_id, []).append(name)
    return [BoardRow(r[0], r[1], r[2], r[3], dict(zip(STATES, map(int, r[4:]), strict=True)),
                     names.get(r[0], [])) for r in rows]


def totals(rows: list[BoardRow]) -> dict[str, int]:
    return {s: sum(r.counts[s] for r in rows) for s in STATES}


def board_table(rows: list[BoardRow]) -> list[list]:
    out: list[list] = [["region", "store_code", "store_name", *STATES, "shoppers"]]
    out += [[r.region_name, r.store_code, r.store_name, *(r.counts[s] for s in STATES),
             "; ".join(r.shoppers)] for r in rows]
    return out


def round_assignments(session: Session, round_id: int, page: int, size: int = 100):
    """(assignment, store, shopper name, response status) of a round, by store."""
    query = (select(Assignment, Store.code, Store.name, User.username, Response.status)
             .join(Store, Store.id == Assignment.store_id)
             .join(User, User.id == Assignment.shopper_id)
             .outerjoin(Response, Response.assignment_id == Assignment.id)
             .where(Assignment.round_id == round_id)
             .order_by(Store.code, Assignment.id))
    total = session.exec(select(func.count()).select_from(Assignment)
                         .where(Assignment.round_id == round_id)).one()
    return list(session.exec(query.offset((page - 1) * size).limit(size))), total


def _untouched(round_id: int, ids: list[int]):
    """Live assignments of this round that no shopper has started (no response yet)."""
    started = select(Response.assignment_id).where(Response.assignment_id.is_not(None))
    return (Assignment.round_id == round_id, Assignment.id.in_(ids),
            Assignment.cancelled_at.is_(None), Assignment.id.not_in(started))


def cancel(session: Session, round_id: int, ids: list[int]) -> int:
    result = session.exec(update(Assignment).where(*_untouched(round_id, ids))
                          .values(cancelled_at=utcnow()))
    session.commit()
    return result.rowcount


def reassign(session: Session, round_id: int, ids: list[int], shopper_id: int) -> int:
    """Give untouched assignments to another shopper, except stores that shopper already has
    in this round or is marked as conflicting with."""
    taken = set(session.exec(select(Assignment.store_id).where(
        Assignment.round_id == round_id, Assignment.shopper_id == shopper_id,
        Assignment.cancelled_at.is_(None))))
    taken |= set(session.exec(select(ShopperConflict.store_id).where(
        ShopperConflict.user_id == shopper_id)))
    chosen = []
    for assignment_id, store_id in session.exec(
            select(Assignment.id, Assignment.store_id).where(*_untouched(round_id, ids))):
        if store_id not in taken:
            taken.add(store_id)
            chosen.append(assignment_id)
    if chosen:
        session.exec(update(Assignment).where(Assignment.id.in_(chosen))
                     .values(shopper_id=shopper_id))
    session.commit()
    return len(chosen)


def suggested_quota(plans: dict, stage: str | None, default: int) -> int:
    """The default visits per store: what the newest calibration of the stage (else of
    both stages' overall score) says a reliability of 0.7 needs, within the form's 1..10;
    `default` before any calibration."""
    plan = plans.get(stage) or plans.get("all")
    return min(10, max(1, plan.for_70)) if plan else default


def default_period(today: date) -> tuple[date, date]:
    """Next month."""
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last
