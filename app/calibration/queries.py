"""What views read of the stored calibration fits: each function is one indexed query (no
query in a loop). A scope is the dashboard's `Scope` (network, a region, a set of stores).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, literal_column, or_, select
from sqlmodel import Session
from sqlmodel import select as select_models

from ..domain.ranking import DEFAULT_DAYS
from ..models import (
    OVERALL,
    CalibrationComponent,
    CalibrationFit,
    CalibrationShopper,
    CalibrationStore,
    Response,
)

F, CS = CalibrationFit.__table__, CalibrationStore.__table__
STALE_WINDOW_DAYS = 7  # a default-period fit up to a week old is shown (with a note) meanwhile


@dataclass(frozen=True)
class FitRef:
    """The stored fit a view shows for a stage and period, and how current it is."""

    id: int
    stage: str
    start: date
    end: date
    computed_at: datetime
    visits: int
    exact: bool  # computed for exactly this period (else: the default window of an earlier day)
    visits_since: int  # approved visits of the period reviewed after its data were read

    @property
    def current(self) -> bool:
        return self.exact and self.visits_since == 0


def is_rolling(start: date, end: date, today: date) -> bool:
    """The dashboard's default period (the last DEFAULT_DAYS days up to today)."""
    return end == today and (end - start).days + 1 == DEFAULT_DAYS


def find_fit(session: Session, stage: str, start: date, end: date, *, today: date
             ) -> FitRef | None:
    """The period's stored fit; for the default period, else the newest fit of an earlier
    default window (up to a week old). Two indexed queries."""
    exact = and_(F.c.period_start == start, F.c.period_end == end)
    where = exact
    if is_rolling(start, end, today):
        where = or_(exact, and_(F.c.rolling, F.c.period_end <= today,
                                F.c.period_end >= today - timedelta(days=STALE_WINDOW_DAYS)))
    row = session.connection().execute(
        select(F.c.id, F.c.stage, F.c.period_start, F.c.period_end, F.c.computed_at,
               F.c.data_read_at, F.c.visits)
        .where(F.c.stage == stage, where)
        .order_by(F.c.period_end.desc()).limit(1)).first()
    if row is None:
        return None
    r = Response
    in_period = [r.day >= start, r.day <= end]
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's statistics average the approval times over every response (most have none)
        # and it would scan the period's 300,000 responses by day (0.4 s at network scale)
        # instead of the few approvals since the fit: tell it the period is not selective
        in_period = [func.likelihood(term, literal_column("0.9")) for term in in_period]
    since = select(func.count()).where(
        r.kind == "mystery_shop", r.status == "approved", *in_period,
        r.reviewed_at > row.data_read_at)
    if stage != "all":
        since = since.where(r.stage == stage)
    return FitRef(row.id, row.stage, row.period_start, row.period_end, row.computed_at,
                  row.visits, (row.period_start, row.period_end) == (start, end),
                  int(session.connection().execute(since).scalar() or 0))


@dataclass(frozen=True)
class StoreScore:
    """A store's calibrated score on one measure, as stored."""

    store_id: int
    measure: str
    region_id: int
    visits: int
    raw_mean: float
    calibrated: float
    sd: float
    reliability: float
    rank: int  # 1 = weakest in the network
    rank_low: int
    rank_high: int
    ranked: int
    region_rank: int
    region_low: int
    region_high: int
    region_ranked: int
    separable: bool
    weakest: bool

    @property
    def shrunk(self) -> float:
        """The score to rank by (the name the raw league uses for its shrunken mean)."""
        return self.calibrated

    @property
    def n(self) -> int:
        return self.visits


COLUMNS = [CS.c[name] for name in StoreScore.__dataclass_fields__]


def _rows(result) -> list[StoreScore]:
    return [StoreScore(*row) for row in result]


def _scoped(query, scope):
    if scope is None or scope.level == "network" and scope.store_ids is None:
        return query
    if scope.store_ids is not None:
        return query.where(CS.c.store_id.in_(scope.store_ids or {-1}))
    if scope.region_id is not None:
        return query.where(CS.c.region_id == scope.region_id)
    return query


def league(session: Session, fit_id: int, measure: str, scope, *, limit: int | None = None,
           offset: int = 0) -> list[StoreScore]:
    """The scope's stores on one measure, weakest first (a page of them with `limit`)."""
    query = (select(*COLUMNS).where(CS.c.fit_id == fit_id, CS.c.measure == measure)
             .order_by(CS.c.calibrated, CS.c.store_id).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    return _rows(session.connection().execute(_scoped(query, scope)))


def league_size(session: Session, fit_id: int, measure: str, scope) -> int:
    """How many of the scope's stores the fit ranks on the measure."""
    query = _scoped(select(func.count()).where(CS.c.fit_id == fit_id, CS.c.measure == measure),
                    scope)
    return int(session.connection().execute(query).scalar() or 0)


def weakest(session: Session, fit_id: int, scope, count: int = 3) -> dict[str, list[StoreScore]]:
    """Per measure, the scope's `count` lowest stores among those surely in the network's
    bottom quarter (their whole rank interval): a store that may as well be mid-table is
    never called weakest."""
    place = func.row_number().over(partition_by=CS.c.measure,
                                   order_by=(CS.c.calibrated, CS.c.store_id)).label("place")
    inner = _scoped(select(*COLUMNS, place).where(CS.c.fit_id == fit_id, CS.c.weakest),
                    scope).subquery()
    query = (select(*(inner.c[c.name] for c in COLUMNS)).where(inner.c.place <= count)
             .order_by(inner.c.measure, inner.c.place))
    out: dict[str, list[StoreScore]] = {}
    for row in _rows(session.connection().execute(query)):
        out.setdefault(row.measure, []).append(row)
    return out


def store_order(session: Session, fit_id: int, scope, limit: int) -> tuple[list[int], int]:
    """(the scope's `limit` stores with the lowest calibrated overall score, weakest first;
    how many stores the scope has in the fit)."""
    base = _scoped(select(CS.c.store_id, CS.c.calibrated, func.count().over().label("total"))
                   .where(CS.c.fit_id == fit_id, CS.c.measure == OVERALL), scope)
    rows = session.connection().execute(
        base.order_by(CS.c.calibrated, CS.c.store_id).limit(limit)).all()
    return [r.store_id for r in rows], (rows[0].total if rows else 0)


def cells(session: Session, fit_id: int, store_ids) -> dict[tuple[int, str], tuple]:
    """{(store, measure): (calibrated, raw mean, visits)} for the given stores (the heat
    map's rows: a thousand cells, so plain tuples)."""
    query = select(CS.c.store_id, CS.c.measure, CS.c.calibrated, CS.c.raw_mean, CS.c.visits
                   ).where(CS.c.fit_id == fit_id, CS.c.store_id.in_(store_ids or {-1}))
    return {(sid, measure): (value, raw, n)
            for sid, measure, value, raw, n in session.connection().execute(query)}


def store_lines(session: Session, fit_ids, store_id: int) -> dict[tuple[int, str], StoreScore]:
    """{(fit id, measure): StoreScore} of one store in several fits (its scorecard)."""
    query = (select(CS.c.fit_id, *COLUMNS)
             .where(CS.c.fit_id.in_(set(fit_ids) or {-1}), CS.c.store_id == store_id))
    return {(row[0], row[2]): StoreScore(*row[1:]) for row in session.connection().execute(query)}


def overall_of(session: Session, fit_id: int, store_ids) -> dict[int, StoreScore]:
    """{store: its overall score} for the given stores (a region's league)."""
    query = select(*COLUMNS).where(CS.c.fit_id == fit_id, CS.c.measure == OVERALL,
                                   CS.c.store_id.in_(store_ids or {-1}))
    return {r.store_id: r for r in _rows(session.connection().execute(query))}


def components(session: Session, fit_id: int) -> dict[str, CalibrationComponent]:
    query = select_models(CalibrationComponent).where(CalibrationComponent.fit_id == fit_id)
    return {c.measure: c for c in session.exec(query)}


def shoppers(session: Session, fit_id: int, measure: str = OVERALL) -> list[CalibrationShopper]:
    """The fit's shoppers on one measure, harshest first."""
    query = (select_models(CalibrationShopper)
             .where(CalibrationShopper.fit_id == fit_id, CalibrationShopper.measure == measure)
             .order_by(CalibrationShopper.harshness, CalibrationShopper.shopper_id))
    return list(session.exec(query))


def latest_fit(session: Session, stage: str) -> CalibrationFit | None:
    """The newest stored fit of a stage (the planner's figures)."""
    query = (select_models(CalibrationFit).where(CalibrationFit.stage == stage)
             .order_by(CalibrationFit.computed_at.desc(), CalibrationFit.id.desc()).limit(1))
    return session.exec(query).first()


@dataclass(frozen=True)
class Plan:
    """Visits per store per period for a calibrated overall score of reliability 0.7 / 0.8,
    from the newest fit of a stage."""

    stage: str
    for_70: int
    for_80: int
    start: date
    end: date


def plans(session: Session) -> dict[str, Plan]:
    """{stage: Plan} from each stage's newest fit (one query)."""
    C = CalibrationComponent.__table__
    rows = session.connection().execute(
        select(F.c.stage, C.c.visits_for_70, C.c.visits_for_80, F.c.period_start,
               F.c.period_end)
        .join(C, C.c.fit_id == F.c.id).where(C.c.measure == OVERALL)
        .order_by(F.c.computed_at.desc(), F.c.id.desc())).all()
    out: dict[str, Plan] = {}
    for row in rows:
        out.setdefault(row.stage, Plan(*row))
    return out
