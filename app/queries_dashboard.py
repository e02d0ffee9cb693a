"""SQL aggregates for the managers' dashboard. Every ranking figure comes from the summary rows
kept at write time (`app.summaries`: whole months, plus per-response rows for the ends of a
range); answers are read only for the drill-down to one item and the raw export.

A scope is either the network (`region_id` and `store_ids` None), a region (`region_id`) or a
set of stores (`store_ids`); `Scope` is built and checked in `app.dashboard`.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from flask import current_app, has_app_context
from sqlalchemy import and_, func
from sqlmodel import Session, select

from . import summaries
from .domain.ranking import Moments, Stats
from .models import (
    Answer,
    InstrumentVersion,
    Region,
    Response,
    ResponseRevision,
    Store,
    Touchpoint,
    TouchpointScore,
)

S = TouchpointScore
CACHE_SECONDS = 600
CACHE_ENTRIES = 128
_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> OrderedDict
_cache_lock = threading.Lock()


def data_version(session: Session) -> tuple:
    """A fingerprint that changes whenever counted scores can have changed: a new or re-scored
    response adds touchpoint-score rows (higher ids); a review or an invalidation moves a
    response between statuses; an overturned appeal re-scores a response in place and keeps
    a revision (SQLite may reuse the ids of the rows it replaced). All index look-ups, cheap
    at any size; asked once per session (a request)."""
    if "dashboard_version" in session.info:
        return session.info["dashboard_version"]
    newest = session.connection().execute(select(func.max(S.id))).scalar()
    statuses = session.connection().execute(
        select(Response.status, func.count()).where(Response.status.in_(("approved", "invalid")))
        .group_by(Response.status)).all()
    revised = session.connection().execute(select(func.max(ResponseRevision.id))).scalar()
    session.info["dashboard_version"] = (newest, revised,
                                         tuple(sorted(tuple(r) for r in statuses)))
    return session.info["dashboard_version"]


def cached(function):
    """Memoise an aggregate per arguments and data version (and at most
    DASHBOARD_CACHE_SECONDS; 0 turns it off). Only an optimisation: the summaries make a
    fresh view fast, and the data version makes a view after a write show the write."""

    @functools.wraps(function)
    def wrapper(session: Session, **kwargs):
        seconds = current_app.config.get("DASHBOARD_CACHE_SECONDS", CACHE_SECONDS) \
            if has_app_context() else CACHE_SECONDS
        if not seconds:
            return function(session, **kwargs)
        key = (function.__name__, tuple(sorted((k, frozenset(v) if isinstance(v, set) else v)
                            for k, v in kwargs.items())))
        version = data_version(session)
        now = time.monotonic()
        with _cache_lock:
            cache = _caches.setdefault(session.get_bind(), OrderedDict())
            hit = cache.get(key)
            if hit is not None and hit[0] == version and now - hit[1] < seconds:
                cache.move_to_end(key)
                return hit[2]
        value = function(session, **kwargs)
        with _cache_lock:
            cache[key] = (version, now, value)
            while len(cache) > CACHE_ENTRIES:
                cache.popitem(last=False)
        return value

    wrapper.uncached = function
    return wrapper


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


@cached
def store_stats(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope: Scope | None = None, touchpoint: str | None = None):
    """({touchpoint: {store id: Stats}}, {store id: region id}) for one kind (and one
    touchpoint when given): what the league and heat map are built from."""
    return summaries.store_stats(session, kind=kind, stage=stage, start=start, end=end,
                                 scope=scope, touchpoint=touchpoint)


@cached
def store_ranking(session: Session, *, kind: str, stage: str, start: date, end: date,
                  scope: Scope | None, priors: tuple[tuple[str, float], ...], k: float,
                  count: int):
    """Per touchpoint, the best-quartile values and the scope's weakest stores, ranked in
    SQL (`summaries.store_ranking`); `priors`: (touchpoint, network mean) pairs."""
    return summaries.store_ranking(session, kind=kind, stage=stage, start=start, end=end,
                                   scope=scope, priors=dict(priors), k=k, count=count)


@cached
def store_order(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope: Scope | None, priors: tuple[tuple[str, float], ...], k: float,
                limit: int) -> tuple[list[int], int]:
    """The scope's weakest stores over all touchpoints (heat map rows), and how many stores
    have data (`summaries.store_order`)."""
    return summaries.store_order(session, kind=kind, stage=stage, start=start, end=end,
                                 scope=scope, priors=dict(priors), k=k, limit=limit)


@cached
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


@cached
def outcome_moments(session: Session, *, stage: str, start: date, end: date,
                    scope: Scope | None) -> dict[str, Moments]:
    """Per touchpoint, sums pairing each customer survey's touchpoint score (x) with its
    outcome answer (y), from the summary rows."""
    return summaries.scope_moments(session, stage=stage, start=start, end=end, scope=scope)


@cached
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
