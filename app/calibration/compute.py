"""Computing and storing calibration fits: the only place a fit runs (never inside a view).

`calibrate(stage, start, end)` is a background job (`app.jobs`): it reads the period's
approved mystery shops in one query (per-response touchpoint scores joined to the response's
shopper, and the overall scores), fits each measure (`domain.calibration.fit`) and replaces
the period's stored fit in one transaction, so a reader sees the old fit or the new one,
never a mix. A fit whose data have not changed since the stored one (`data_stamp`) is not
redone; a fit read from older data than the stored one never overwrites it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from flask import current_app, has_app_context
from sqlalchemy import delete, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ..domain import calibration
from ..domain.ranking import DEFAULT_DAYS, month_period, quarter_period
from ..models import (
    OVERALL,
    CalibrationComponent,
    CalibrationFit,
    CalibrationShopper,
    CalibrationStore,
    Response,
    ResponseRevision,
    TouchpointScore,
    utcnow,
)

S, R = TouchpointScore, Response
CHILDREN = (CalibrationComponent, CalibrationShopper, CalibrationStore)
KEEP_RANGES = 20  # fits of ad-hoc date ranges kept per stage (months and quarters all stay)
TARGETS = (0.7, 0.8)


@dataclass(frozen=True)
class Visit:
    measure: str
    store_id: int
    region_id: int
    shopper: int  # the shopper's user id; minus the response id when none is known
    score: float


def read_visits(session: Session, stage: str, start: date, end: date) -> list[Visit]:
    """Every counted score of the period's approved mystery shops, in one query: the
    touchpoint scores of the stage (none for `all`) and the overall scores."""
    shopper = func.coalesce(R.shopper_id, -R.id)
    overall = select(literal(OVERALL), R.store_id, R.region_id, shopper, R.overall).where(
        R.kind == "mystery_shop", R.status == "approved", R.overall.is_not(None),
        R.day >= start, R.day <= end)
    if stage != "all":
        overall = overall.where(R.stage == stage)
        touchpoints = (select(S.touchpoint_id, S.store_id, S.region_id, shopper, S.score)
                       .join(R, R.id == S.response_id)
                       .where(S.counted, S.kind == "mystery_shop", S.stage == stage,
                              S.day >= start, S.day <= end))
        query = union_all(touchpoints, overall)
    else:
        query = overall
    return [Visit(str(m), int(s), int(r), int(p), float(v))
            for m, s, r, p, v in session.connection().execute(query)]


def data_stamp(session: Session, stage: str, start: date, end: date) -> str:
    """What a fit of the period depends on, cheaply: approved visits, the sum of their overall
    scores (a re-scoring moves it), the latest approval and the latest revision."""
    query = select(func.count(), func.sum(R.overall), func.max(R.reviewed_at)).where(
        R.kind == "mystery_shop", R.status == "approved", R.day >= start, R.day <= end)
    if stage != "all":
        query = query.where(R.stage == stage)
    count, total, latest = session.connection().execute(query).one()
    revised = session.connection().execute(select(func.max(ResponseRevision.id))).scalar()
    return f"{count}:{float(total or 0):.6f}:{latest}:{revised}"[:120]


def fit_measures(visits: list[Visit], *, fallback_k: float, override_k: float | None,
                 seed: int = 0) -> dict[str, calibration.Calibration]:
    """One fit per measure; stores grouped by region for their rank in the region."""
    by_measure: dict[str, list[Visit]] = defaultdict(list)
    for visit in visits:
        by_measure[visit.measure].append(visit)
    out = {}
    for measure, rows in sorted(by_measure.items()):
        region = {v.store_id: v.region_id for v in rows}
        out[measure] = calibration.fit(
            [v.store_id for v in rows], [v.shopper for v in rows], [v.score for v in rows],
            fallback_k=fallback_k, k=override_k, seed=seed, groups=region)
    return out


def _component_row(measure: str, fitted: calibration.Calibration) -> dict:
    c = fitted.components
    values = [s.calibrated for s in fitted.stores]
    per_store = c.visits / max(len(fitted.stores), 1)
    return {"measure": measure, "store_var": c.store, "shopper_var": c.shopper,
            "visit_var": c.visit, "mean": c.mean, "visits": c.visits,
            "stores": len(fitted.stores), "fallback": c.fallback,
            "best_quartile": float(np.percentile(values, 75)) if values else None,
            "reliability_now": c.reliability(per_store),
            "visits_for_70": c.visits_needed(TARGETS[0]),
            "visits_for_80": c.visits_needed(TARGETS[1])}


def _store_row(measure: str, s: calibration.StoreEstimate, region: dict[int, int]) -> dict:
    return {"measure": measure, "store_id": int(s.store), "region_id": region[s.store],
            "visits": s.visits, "raw_mean": s.raw_mean, "calibrated": s.calibrated,
            "sd": s.sd, "reliability": s.reliability, "rank": s.rank, "rank_low": s.rank_low,
            "rank_high": s.rank_high, "ranked": s.of, "region_rank": s.group_rank,
            "region_low": s.group_low, "region_high": s.group_high,
            "region_ranked": s.group_of, "separable": s.separable, "weakest": s.surely_weak}


def _shopper_row(measure: str, p: calibration.ShopperEstimate) -> dict:
    return {"measure": measure, "shopper_id": int(p.shopper), "visits": p.visits,
            "stores": p.stores, "harshness": p.harshness, "low": p.low, "high": p.high,
            "outlier": p.outlier}


def child_rows(results: dict[str, calibration.Calibration], visits: list[Visit]) -> dict:
    """{model: [row dicts]} for the stored fit's children."""
    region = {v.store_id: v.region_id for v in visits}
    return {
        CalibrationComponent: [_component_row(m, f) for m, f in results.items()],
        CalibrationStore: [_store_row(m, s, region) for m, f in results.items()
                           for s in f.stores],
        CalibrationShopper: [_shopper_row(m, p) for m, f in results.items()
                             for p in f.shoppers if int(p.shopper) > 0],
    }


def is_named(start: date, end: date) -> bool:
    """A month or a quarter (kept), rather than an ad-hoc range (a few kept)."""
    return (month_period(start).end == end and month_period(start).start == start) or (
        quarter_period(start).start == start and quarter_period(start).end == end)


def store_fit(session: Session, *, stage: str, start: date, end: date, rolling: bool,
              read_at, stamp: str, results: dict, visits: list[Visit], seconds: float) -> int:
    """Replace the period's stored fit (header kept, children rewritten) in one transaction
    and commit; returns the fit's id. A stored fit read from newer data stays."""
    header = {"rolling": rolling, "computed_at": utcnow(), "data_read_at": read_at,
              "data_stamp": stamp, "visits": sum(1 for v in visits if v.measure == OVERALL),
              "stores": len({v.store_id for v in visits}),
              "shoppers": len({v.shopper for v in visits if v.shopper > 0}),
              "seconds": seconds}
    rows = child_rows(results, visits)
    for attempt in range(2):
        try:
            fit_id = _replace(session, stage, start, end, header, rows)
            session.commit()
            return fit_id
        except IntegrityError:  # another job inserted this period's header first: once more
            session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def _replace(session: Session, stage, start, end, header: dict, rows: dict) -> int:
    connection = session.connection()
    table = CalibrationFit.__table__
    key = (table.c.stage == stage, table.c.period_start == start, table.c.period_end == end)
    query = select(table.c.id, table.c.data_read_at).where(*key)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    found = connection.execute(query).first()
    if found is not None and _aware(found.data_read_at) > _aware(header["data_read_at"]):
        return found.id  # a later job already stored a fit of newer data
    if found is None:
        fit_id = connection.execute(table.insert().values(
            stage=stage, period_start=start, period_end=end, **header)).inserted_primary_key[0]
    else:
        fit_id = found.id
        connection.execute(table.update().where(table.c.id == fit_id).values(**header))
        for model in CHILDREN:
            connection.execute(delete(model).where(model.fit_id == fit_id))
    for model, values in rows.items():
        if values:
            connection.execute(model.__table__.insert(), [v | {"fit_id": fit_id} for v in values])
    _prune(connection, stage, fit_id, header["rolling"])
    return fit_id


def _aware(moment):
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _prune(connection, stage: str, keep: int, rolling: bool) -> None:
    """Older windows of the default period go; of ad-hoc ranges the newest KEEP_RANGES stay."""
    table = CalibrationFit.__table__
    others = connection.execute(
        select(table.c.id, table.c.rolling, table.c.period_start, table.c.period_end)
        .where(table.c.stage == stage, table.c.id != keep)
        .order_by(table.c.computed_at.desc())).all()
    ranges = [r for r in others if not r.rolling and not is_named(r.period_start, r.period_end)]
    doomed = [r.id for r in others if r.rolling and rolling] + [r.id for r in ranges[KEEP_RANGES:]]
    if doomed:
        for model in CHILDREN:
            connection.execute(delete(model).where(model.fit_id.in_(doomed)))
        connection.execute(delete(table).where(table.c.id.in_(doomed)))


def calibrate(stage: str, start: str, end: str, rolling: bool = False,
              force: bool = False) -> dict:
    """The job: fit the period's approved mystery shops and store the fit (ISO dates, so RQ
    stores plain arguments). Returns what it did, for the job's status and the CLI."""
    from .. import db

    first, last = date.fromisoformat(start), date.fromisoformat(end)
    config = current_app.config
    override = config.get("SHRINKAGE_K_OVERRIDE")
    with db.new_session() as session:
        read_at = utcnow()
        stamp = data_stamp(session, stage, first, last)
        stored = session.connection().execute(
            select(CalibrationFit.id, CalibrationFit.data_stamp).where(
                CalibrationFit.stage == stage, CalibrationFit.period_start == first,
                CalibrationFit.period_end == last)).first()
        if stored is not None and stored.data_stamp == stamp and not force:
            return {"fit": stored.id, "unchanged": True}
        visits = read_visits(session, stage, first, last)
        session.rollback()  # end the read transaction: the fit below takes a while
        began = time.perf_counter()
        results = fit_measures(visits, fallback_k=float(config.get("SHRINKAGE_K", 5.0)),
                               override_k=float(override) if override else None)
        seconds = time.perf_counter() - began
        fit_id = store_fit(session, stage=stage, start=first, end=last, rolling=rolling,
                           read_at=read_at, stamp=stamp, results=results, visits=visits,
                           seconds=seconds)
    return {"fit": fit_id, "visits": sum(1 for v in visits if v.measure == OVERALL),
            "measures": len(results), "seconds": round(seconds, 3)}


# ---- asking for fits ---------------------------------------------------------------------


def rolling_window(today: date) -> tuple[date, date]:
    """The dashboard's default period: the DEFAULT_DAYS days up to today."""
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def request(stage: str, start: date, end: date, *, rolling: bool = False) -> str | None:
    """Enqueue a fit of the period unless one is already waiting (or CALIBRATION_AUTO is
    off); returns the job id, or None."""
    from .. import jobs

    if not current_app.config.get("CALIBRATION_AUTO", True):
        return None
    key = f"calibrate:{stage}:{start.isoformat()}:{end.isoformat()}"
    return jobs.enqueue_once(key, calibrate, stage, start.isoformat(), end.isoformat(),
                             rolling)


def refresh_after(session: Session, changes, *, today: date | None = None) -> int:
    """Ask again for every stored fit that covers a changed visit: `changes` are (stage, day)
    of mystery shops approved, invalidated or re-scored. The default window is asked for as
    it stands today. Returns how many fits were asked for."""
    if not has_app_context() or not current_app.config.get("CALIBRATION_AUTO", True):
        return 0
    table = CalibrationFit.__table__
    wanted: set[tuple[str, date, date, bool]] = set()
    window = rolling_window(today or date.today())
    for stage, day in set(changes):
        for row in session.connection().execute(
                select(table.c.stage, table.c.period_start, table.c.period_end, table.c.rolling)
                .where(table.c.stage.in_((stage, "all")), table.c.period_start <= day,
                       table.c.period_end >= day)):
            if row.rolling:
                if window[0] <= day <= window[1]:
                    wanted.add((row.stage, *window, True))
            else:
                wanted.add((row.stage, row.period_start, row.period_end, False))
    for stage, start, end, rolling in sorted(wanted):
        request(stage, start, end, rolling=rolling)
    return len(wanted)
