"""SQL aggregates for the managers' dashboard. Every ranking figure comes from the summary rows
kept at write time (`app.summaries`: whole months, plus per-response rows for the ends of a
range; one row per store and touchpoint for the default period, `app.recent`); answers are
read only for the drill-down to one item and the raw export. There is no cache: every view
reads the rows as they are, so a view right after a write shows it.

A scope is either the network (`region_id` and `store_ids` None), a region (`region_id`) or a
set of stores (`store_ids`); `Scope` is built and checked in `app.dashboard`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func
from sqlmodel import Session, select

from . import summaries
from .domain.ranking import Moments, Stats
from .models import (
    Answer,
    InstrumentVersion,
    Region,
    Response,
    Store,
    Touchpoint,
    TouchpointScore,
)

S = TouchpointScore


@dataclass(frozen=True)
class Scope:
    level: str  # network | region | stores
    region_id: int | None = None
    store_ids: frozenset[int] | None = None

    def contains(self, store_id: int, region_id: int) -> bool:
        if self.store_ids is not None:
            return store_id in self.store_ids
        return self.region_id is None or region_id == self.region_id


def _scoped(query, scope: Scope | None, store_col, region_col):
    if scope is None:
        return query
    if scope.store_ids is not None:
        return query.where(store_col.in_(scope.store_ids or {-1}))
    if scope.region_id is not None:
        return query.where(region_col == scope.region_id)
    return query


def touchpoints(session: Session, stage: str) -> list[Touchpoint]:
    query = select(Touchpoint).where(Touchpoint.stage == stage).order_by(Touchpoint.position)
    return list(session.exec(query))


def store_stats(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope: Scope | None = None, touchpoint: str | None = None):
    """({touchpoint: {store id: Stats}}, {store id: region id}) for one kind (and one
    touchpoint when given): what the league and heat map are built from."""
    return summaries.store_stats(session, kind=kind, stage=stage, start=start, end=end,
                                 scope=scope, touchpoint=touchpoint)


def store_ranking(session: Session, *, kind: str, stage: str, start: date, end: date,
                  scope: Scope | None, priors: tuple[tuple[str, float], ...], k: float,
                  count: int):
    """Per touchpoint, the best-quartile values and the scope's weakest stores, ranked in
    SQL (`summaries.store_ranking`); `priors`: (touchpoint, network mean) pairs."""
    return summaries.store_ranking(session, kind=kind, stage=stage, start=start, end=end,
                                   scope=scope, priors=dict(priors), k=k, count=count)


def store_count(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope: Scope | None, tps: tuple[str, ...]) -> int:
    """Stores of the scope with scores of these touchpoints (`summaries.store_count`)."""
    return summaries.store_count(session, kind=kind, stage=stage, start=start, end=end,
                                 scope=scope, tps=list(tps))


def store_order(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope: Scope | None, priors: tuple[tuple[str, float], ...], k: float,
                limit: int) -> tuple[list[int], int]:
    """The scope's weakest stores over all touchpoints (heat map rows), and how many stores
    have data (`summaries.store_order`)."""
    return summaries.store_order(session, kind=kind, stage=stage, start=start, end=end,
                                 scope=scope, priors=dict(priors), k=k, limit=limit)


def scope_stats(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope: Scope | None) -> dict[str, Stats]:
    """{touchpoint: Stats} for the scope as a whole."""
    return summaries.scope_stats(session, kind=kind, stage=stage, start=start, end=end,
                                 scope=scope)


def outcome_items(session: Session, stage: str) -> set[str]:
    """Outcome item ids of customer-survey versions of the stage (numeric items only)."""
    from .instruments import definition

    versions = session.exec(select(InstrumentVersion).where(
        InstrumentVersion.kind == "customer_survey", InstrumentVersion.stage == stage))
    found = set()
    for version in versions:
        instrument = definition(version)
        item = instrument.item(instrument.outcome) if instrument.outcome else None
        if item is not None and item.type in ("scale", "nps", "number"):
            found.add(item.id)
    return found


def outcome_moments(session: Session, *, stage: str, start: date, end: date,
                    scope: Scope | None) -> dict[str, Moments]:
    """Per touchpoint, sums pairing each customer survey's touchpoint score (x) with its
    outcome answer (y), from the summary rows."""
    return summaries.scope_moments(session, stage=stage, start=start, end=end, scope=scope)


def monthly_stats(session: Session, *, kind: str, stage: str, start: date, end: date,
                  scope: Scope | None) -> dict[str, dict[tuple[int, int], Stats]]:
    return summaries.monthly_stats(session, kind=kind, stage=stage, start=start, end=end,
                                   scope=scope)


def _responses(query, *, kind: str, stage: str, start: date, end: date, scope: Scope | None):
    r = Response
    query = query.where(r.kind == kind, r.stage == stage, r.day >= start, r.day <= end)
    status = ("approved",) if kind == "mystery_shop" else ("submitted", "approved")
    query = query.where(r.status.in_(status))
    return _scoped(query, scope, r.store_id, r.region_id)


def item_value_counts(session: Session, *, kind: str, stage: str, start: date, end: date,
                      scope: Scope | None, item_ids: set[str]):
    """(version id, item id, stored value, count) for the items, over counted responses."""
    query = (
        select(Response.instrument_version_id, Answer.item_id, Answer.value, func.count())
        .join(Answer, Answer.response_id == Response.id)
        .where(Answer.item_id.in_(item_ids or {""}))
        .group_by(Response.instrument_version_id, Answer.item_id, Answer.value)
    )
    return list(session.exec(_responses(query, kind=kind, stage=stage, start=start, end=end,
                                        scope=scope)))


def item_answers(session: Session, *, kind: str, stage: str, start: date, end: date,
                 scope: Scope | None, item_id: str, values: set[str] | None, limit: int = 200):
    """(response, store, stored value) for one item, newest first; `values` filters answers."""
    query = (
        select(Response, Store, Answer.value)
        .join(Answer, and_(Answer.response_id == Response.id, Answer.item_id == item_id))
        .join(Store, Store.id == Response.store_id)
        .order_by(Response.day.desc(), Response.id.desc())
        .limit(limit)
    )
    if values is not None:
        query = query.where(Answer.value.in_(values or {""}))
    return list(session.exec(_responses(query, kind=kind, stage=stage, start=start, end=end,
                                        scope=scope)))


def raw_answer_rows(session: Session, *, kind: str, stage: str, start: date, end: date,
                    scope: Scope | None, batch: int = 5000) -> Iterator[tuple]:
    """Every answer of counted responses in scope, ordered by response: for the raw export."""
    query = (
        select(Response.id, Response.uuid, Region.code, Store.code, Store.name, Response.day,
               InstrumentVersion.instrument_id, InstrumentVersion.version, Response.status,
               Response.overall, Answer.item_id, Answer.value)
        .join(Answer, Answer.response_id == Response.id)
        .join(Store, Store.id == Response.store_id)
        .join(Region, Region.id == Response.region_id)
        .join(InstrumentVersion, InstrumentVersion.id == Response.instrument_version_id)
        .order_by(Response.day, Response.id, Answer.id)
        .execution_options(yield_per=batch)
    )
    query = _responses(query, kind=kind, stage=stage, start=start, end=end, scope=scope)
    yield from session.exec(query)


def stores_with_regions(session: Session, store_ids: set[int] | None = None):
    """{store id: (Store, Region)} in one query."""
    query = select(Store, Region).join(Region, Region.id == Store.region_id)
    if store_ids is not None:
        query = query.where(Store.id.in_(store_ids or {-1}))
    return {store.id: (store, region) for store, region in session.exec(query)}


def regions(session: Session) -> list[Region]:
    return list(session.exec(select(Region).order_by(Region.code)))
