"""Writes and lists for the admin screens of regions, stores and users. Lists page in SQL
(a network has thousands of rows); searching is a LIKE on codes and names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from ..models import Region, Response, Store, TouchpointScore, User
from ..responses import counts

PAGE_SIZE = 50


@dataclass
class Page:
    rows: list
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _paged(session: Session, query, page: int) -> Page:
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = max(1, min(page, max(1, -(-total // PAGE_SIZE))))
    rows = list(session.exec(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return Page(rows, page, total)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_regions(session: Session, q: str = "", page: int = 1) -> Page:
    parent = select(Region.id, Region.code).subquery("parent")
    stores = (select(Store.region_id, func.count().label("n")).group_by(Store.region_id)
              .subquery("stores"))
    query = (select(Region, parent.c.code, func.coalesce(stores.c.n, 0))
             .outerjoin(parent, parent.c.id == Region.parent_id)
             .outerjoin(stores, stores.c.region_id == Region.id).order_by(Region.code))
    if q:
        query = query.where(or_(Region.code.ilike(_like(q), escape="\\"),
                                Region.name.ilike(_like(q), escape="\\")))
    return _paged(session, query, page)


def list_stores(session: Session, q: str = "", page: int = 1) -> Page:
    query = select(Store, Region).join(Region, Region.id == Store.region_id).order_by(Store.code)
    if q:
        pattern = _like(q)
        query = query.where(or_(Store.code.ilike(pattern, escape="\\"),
                                Store.name.ilike(pattern, escape="\\"),
                                Store.city.ilike(pattern, escape="\\"),
                                Region.code.ilike(pattern, escape="\\")))
    return _paged(session, query, page)


def list_users(session: Session, q: str = "", role: str = "", page: int = 1) -> Page:
    query = select(User).order_by(User.username)
    if q:
        pattern = _like(q)
        query = query.where(or_(User.username.ilike(pattern, escape="\\"),
                                User.display_name.ilike(pattern, escape="\\"),
                                User.email.ilike(pattern, escape="\\")))
    if role:
        query = query.where(User.role == role)
    return _paged(session, query, page)


def set_store_active(session: Session, store_ids: list[int], active: bool, today: date) -> None:
    """Deactivate (or reactivate) stores. A deactivated store's responses from that day on
    leave every ranking; what it did before keeps counting, so history stays as it was."""
    if not store_ids:
        return
    from .. import summaries

    summaries.apply_stores(session, store_ids, -1)  # out with what counted, in with what counts
    if active:
        session.exec(update(Store).where(Store.id.in_(store_ids))
                     .values(active=True, deactivated_on=None))
        # what counts again is what the response's status says (responses.counts)
        for kind, status in session.exec(
                select(Response.kind, Response.status).where(Response.store_id.in_(store_ids))
                .distinct()):
            session.exec(update(TouchpointScore).where(
                TouchpointScore.store_id.in_(store_ids),
                TouchpointScore.response_id.in_(select(Response.id).where(
                    Response.kind == kind, Response.status == status)))
                .values(counted=counts(kind, status)))
        summaries.apply_stores(session, store_ids, +1)
        return
    session.exec(update(Store).where(Store.id.in_(store_ids), Store.active)
                 .values(active=False, deactivated_on=today))
    session.exec(update(TouchpointScore).where(
        TouchpointScore.store_id.in_(store_ids), TouchpointScore.day >= today)
        .values(counted=False))
    summaries.apply_stores(session, store_ids, +1)
