"""SQL aggregation over stored touchpoint scores. Every function takes a session; none loops
over answers. Labels are fetched in one batch by the caller."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from .models import (
    Assignment,
    InstrumentVersion,
    Region,
    Response,
    Store,
    Touchpoint,
    User,
)


def touchpoint_labels(session: Session) -> dict[str, dict[str, str]]:
    """{touchpoint id: {"zh": ..., "en": ...}} in one query."""
    rows = session.exec(select(Touchpoint.id, Touchpoint.label_zh, Touchpoint.label_en))
    return {tp: {"zh": zh, "en": en} for tp, zh, en in rows}


def stores_in_scope(session: Session, store_ids: set[int] | None) -> list[tuple[Store, Region]]:
    query = select(Store, Region).join(Region, Region.id == Store.region_id)
    if store_ids is not None:
        query = query.where(Store.id.in_(store_ids or {-1}))
    return list(session.exec(query.order_by(Region.code, Store.code)))


def assignments_for_shopper(session: Session, shopper_id: int):
    """(assignment, store, instrument version, latest response or None) for one shopper."""
    latest = (
        select(Response.assignment_id, func.max(Response.id).label("rid"))
        .where(Response.assignment_id.is_not(None))
        .group_by(Response.assignment_id)
        .subquery()
    )
    query = (
        select(Assignment, Store, InstrumentVersion, Response)
        .join(Store, Store.id == Assignment.store_id)
        .join(InstrumentVersion, InstrumentVersion.id == Assignment.instrument_version_id)
        .outerjoin(latest, latest.c.assignment_id == Assignment.id)
        .outerjoin(Response, Response.id == latest.c.rid)
        .where(Assignment.shopper_id == shopper_id, Assignment.cancelled_at.is_(None))
        .order_by(Assignment.window_end)
    )
    return list(session.exec(query))


def assignments_in_scope(session: Session, store_ids: set[int] | None, limit: int = 200):
    """(assignment, store, version, shopper) newest first, for the stores in scope."""
    query = (
        select(Assignment, Store, InstrumentVersion, User)
        .join(Store, Store.id == Assignment.store_id)
        .join(InstrumentVersion, InstrumentVersion.id == Assignment.instrument_version_id)
        .join(User, User.id == Assignment.shopper_id)
        .order_by(Assignment.id.desc())
        .limit(limit)
    )
    if store_ids is not None:
        query = query.where(Assignment.store_id.in_(store_ids or {-1}))
    return list(session.exec(query))


def review_queue(session: Session):
    """Submitted mystery-shop reports waiting for review, oldest first."""
    query = (
        select(Response, Store, InstrumentVersion, User)
        .join(Store, Store.id == Response.store_id)
        .join(InstrumentVersion, InstrumentVersion.id == Response.instrument_version_id)
        .outerjoin(User, User.id == Response.shopper_id)
        .where(Response.kind == "mystery_shop", Response.status == "submitted")
        .order_by(Response.submitted_at)
    )
    return list(session.exec(query))


def counts_overview(session: Session) -> dict[str, int]:
    return {
        "regions": session.exec(select(func.count()).select_from(Region)).one(),
        "stores": session.exec(select(func.count()).select_from(Store)).one(),
        "users": session.exec(select(func.count()).select_from(User)).one(),
        "responses": session.exec(select(func.count()).select_from(Response)).one(),
    }
