"""Shopper quality for reviewers: harshness (from the stored fit), straight-lining and
appeal overturns (SQL aggregates over the period), and flags for the ones to look at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, distinct, func, select
from sqlmodel import Session
from sqlmodel import select as select_models

from ..models import (
    OVERALL,
    Appeal,
    AppealItem,
    CalibrationShopper,
    Response,
    TouchpointScore,
    User,
)
from . import queries

MIN_TOUCHPOINTS = 5  # a report scores at least this many touchpoints to be straight-lined
STRAIGHT_FLAG = 0.3  # flagged when at least this share of their reports is straight-lined
MIN_REPORTS = 5  # ... out of at least this many


@dataclass
class ShopperQuality:
    user: User
    reports: int = 0  # submitted or reviewed reports in the period
    straight: int = 0  # of which every scored answer was the same
    approved: int = 0
    appealed: int = 0  # approved reports with a decided appeal
    overturned: int = 0  # of which at least one item was overturned
    harshness: CalibrationShopper | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def straight_rate(self) -> float | None:
        return self.straight / self.reports if self.reports else None

    @property
    def overturn_rate(self) -> float | None:
        return self.overturned / self.approved if self.approved else None


def _reports(session: Session, start: date, end: date) -> dict:
    """{shopper: (reports, straight-lined, approved)} in one query. A report is straight-
    lined when every touchpoint it scores got the same score: every item full marks (or
    every one failed), the trace of identical answers ticked down the list."""
    r, t = Response, TouchpointScore
    per_report = (
        select(r.shopper_id.label("shopper"), r.status.label("status"),
               func.count(t.id).label("touchpoints"), func.min(t.score).label("low"),
               func.max(t.score).label("high"))
        .join(t, t.response_id == r.id)
        .where(r.kind == "mystery_shop", r.status.in_(("submitted", "returned", "approved")),
               r.day >= start, r.day <= end, r.shopper_id.is_not(None))
        .group_by(r.shopper_id, r.id, r.status)).subquery()
    straight = case(((per_report.c.touchpoints >= MIN_TOUCHPOINTS)
                     & (per_report.c.high - per_report.c.low < 1e-9), 1), else_=0)
    approved = case((per_report.c.status == "approved", 1), else_=0)
    query = select(per_report.c.shopper, func.count(), func.sum(straight),
                   func.sum(approved)).group_by(per_report.c.shopper)
    return {row[0]: (int(row[1]), int(row[2] or 0), int(row[3] or 0))
            for row in session.connection().execute(query)}


def _appeals(session: Session, start: date, end: date) -> dict:
    """{shopper: (reports with a decided appeal, of which overturned in part)}."""
    r = Response
    overturned = case((AppealItem.decision == "overturned", Appeal.response_id))
    query = (select(r.shopper_id, func.count(distinct(Appeal.response_id)),
                    func.count(distinct(overturned)))
             .join(Appeal, Appeal.response_id == r.id)
             .join(AppealItem, AppealItem.appeal_id == Appeal.id)
             .where(Appeal.status == "decided", r.day >= start, r.day <= end,
                    r.shopper_id.is_not(None))
             .group_by(r.shopper_id))
    return {row[0]: (int(row[1]), int(row[2])) for row in session.connection().execute(query)}


def shopper_quality(session: Session, start: date, end: date, fit_id: int | None
                    ) -> list[ShopperQuality]:
    """Every shopper with reports in the period (and every active shopper), the ones to
    look at first: flagged, then harshest."""
    reports = _reports(session, start, end)
    appeals = _appeals(session, start, end)
    harsh = {s.shopper_id: s for s in queries.shoppers(session, fit_id, OVERALL)} if fit_id \
        else {}
    users = session.exec(select_models(User).where(
        (User.role == "shopper") | User.id.in_(set(reports) or {-1}))).all()
    out = []
    for user in users:
        if not user.active and user.id not in reports:
            continue
        row = ShopperQuality(user, *reports.get(user.id, (0, 0, 0)))
        row.appealed, row.overturned = appeals.get(user.id, (0, 0))
        row.harshness = harsh.get(user.id)
        if row.harshness is not None and row.harshness.outlier:
            row.flags.append("harsh" if row.harshness.harshness < 0 else "lenient")
        if row.reports >= MIN_REPORTS and (row.straight_rate or 0) >= STRAIGHT_FLAG:
            row.flags.append("straight")
        if row.harshness is not None and row.harshness.stores <= 1:
            row.flags.append("one_store")
        out.append(row)
    return sorted(out, key=lambda r: (not r.flags, r.harshness.harshness if r.harshness
                                      else 0.0, r.user.username))
