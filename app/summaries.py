"""Summary rows of counted touchpoint scores, kept at write time, and the dashboard's reads.

Three tables hold the same measures (`models.SummaryMeasures`) at three grains:
`summary_store_month` (per store), `summary_region_month` and `summary_region_day` (totals).
Every write that moves a response into or out of the counted set calls `apply` (through
`responses.py`: creation, re-scoring, status changes; call `retract` before deleting a
response) in the same transaction, so a view right after a commit is exact with no cache.
Increments are single `INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n` statements
(SQLite and PostgreSQL): concurrent writers never lose one, and rows are upserted in key order
so two transactions cannot deadlock on them.

Reads split a date range into whole months and partial-month edges (`month_split`): whole
months come from the month tables, edges from the day table (totals) or from the
per-response `touchpoint_score` rows (per store), so ranges that do not align are exact.

`recompute`, `verify` and `rebuild` serve `flask --app app aggregates verify|rebuild`.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Date, case, cast, delete, func, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from .domain.ranking import Moments, Stats, month_split
from .models import (
    RegionDaySummary,
    RegionMonthSummary,
    Response,
    StoreMonthSummary,
    StoreOverallSummary,
    StoreRecentSummary,
    SummaryMeasures,
    TouchpointScore,
)

MEASURES = tuple(SummaryMeasures.model_fields)  # n, total, squares, critical, pairs, pair_*
S = TouchpointScore
SM, RM, RD, SO = (t.__table__ for t in (StoreMonthSummary, RegionMonthSummary,
                                          RegionDaySummary, StoreOverallSummary))
# the overall scores of whole visits (`response.overall`, scorecards), beside the touchpoints
OVERALL = "summary_store_overall"
TABLES = {"summary_store_month": SM, "summary_region_month": RM, "summary_region_day": RD,
          OVERALL: SO}
KEYS = {
    "summary_store_month": ("kind", "stage", "month", "store_id", "region_id", "touchpoint_id"),
    "summary_region_month": ("kind", "stage", "month", "region_id", "touchpoint_id"),
    "summary_region_day": ("kind", "stage", "day", "region_id", "touchpoint_id"),
    OVERALL: ("kind", "stage", "month", "store_id", "region_id"),
}
# the default period per store (`app.recent`): upserted like the others, recomputed apart
RECENT = "summary_store_recent"
UPSERT_TABLES = {**TABLES, RECENT: StoreRecentSummary.__table__}
UPSERT_KEYS = {**KEYS, RECENT: ("kind", "stage", "store_id", "region_id", "touchpoint_id")}


# ---- write time -------------------------------------------------------------------------


def _measures(score: float, critical: bool, outcome: float | None) -> tuple:
    paired = outcome is not None
    y = outcome if paired else 0.0
    return (1, score, score * score, int(critical), int(paired), score if paired else 0.0, y,
            score * y, score * score if paired else 0.0, y * y)


def apply(session: Session, response_id: int, sign: int, overall: tuple | None = None) -> None:
    """Add (+1) or take away (-1) the response's counted touchpoint scores, as stored now, and
    its overall score when given (as `apply_rows`), in one write."""
    session.flush()
    rows = session.connection().execute(
        select(S.touchpoint_id, S.store_id, S.region_id, S.day, S.kind, S.stage, S.score,
               S.critical_failed, S.outcome)
        .where(S.response_id == response_id, S.counted)
    ).all()
    apply_rows(session, rows, sign, overall=overall)


def apply_rows(session: Session, rows: Iterable[tuple], sign: int = +1,
               before: tuple[Part, ...] = (), overall: tuple | None = None) -> None:
    """Add (or take away) counted scores given as (touchpoint, store, region, day, kind,
    stage, score, critical failed, outcome): a new response's rows need no read back.

    `overall`: a counted response's overall score, as (kind, stage, day, store, region,
    score), added (or taken away) with them. `before`: on PostgreSQL, writes sent in the same
    statement ahead of the summaries (a new response's answers and scores: one round trip for
    all of it); elsewhere run first."""
    from . import recent

    rows = list(rows)
    cells: dict[str, dict[tuple, list]] = {name: {} for name in UPSERT_TABLES}
    if overall is not None:
        kind, stage, day, store_id, region_id, value = overall
        cells[OVERALL][(kind, stage, day.replace(day=1), store_id, region_id)] = [
            sign * v for v in (1, value, value * value)] + [0] * (len(MEASURES) - 3)
    for tp, store_id, region_id, day, kind, stage, score, critical, outcome in rows:
        month = day.replace(day=1)
        values = [sign * v for v in _measures(score, critical, outcome)]
        for name, key in (
            ("summary_store_month", (kind, stage, month, store_id, region_id, tp)),
            ("summary_region_month", (kind, stage, month, region_id, tp)),
            ("summary_region_day", (kind, stage, day, region_id, tp)),
        ):
            cell = cells[name].setdefault(key, [0] * len(MEASURES))
            for i, v in enumerate(values):
                cell[i] += v
    if rows:
        recent.add_cells(session, rows, sign, cells[RECENT])
    if session.get_bind().dialect.name == "postgresql":
        _write_pg(session, before, cells)
        return
    for part in before:
        part.run(session)
    for name, found in cells.items():
        if found:
            _upsert(session, name, found)


def apply_stores(session: Session, store_ids, sign: int) -> None:
    """Add (+1) or take away (-1) every counted score of some stores, as stored now (around a
    change of what counts for whole stores: deactivating or reactivating them)."""
    session.flush()
    rows = session.connection().execute(
        select(S.touchpoint_id, S.store_id, S.region_id, S.day, S.kind, S.stage, S.score,
               S.critical_failed, S.outcome)
        .where(S.store_id.in_(list(store_ids)), S.counted)
    ).all()
    apply_rows(session, rows, sign)


def add(session: Session, response_id: int, overall: tuple | None = None) -> None:
    apply(session, response_id, +1, overall)


def retract(session: Session, response_id: int, overall: tuple | None = None) -> None:
    """Call before the response's counted scores change or disappear (the caller flushes);
    `overall`: its overall score as it counted until now, if it did."""
    apply(session, response_id, -1, overall)


_UPSERTS: dict[tuple[str, str], object] = {}


def _upsert_statement(dialect: str, name: str):
    """INSERT ... ON CONFLICT DO UPDATE SET m = m + excluded.m, built once (executemany of
    one compiled statement: cheap on the write path)."""
    if (dialect, name) not in _UPSERTS:
        table = UPSERT_TABLES[name]
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table)
        _UPSERTS[(dialect, name)] = statement.on_conflict_do_update(
            index_elements=list(UPSERT_KEYS[name]),
            set_={m: table.c[m] + statement.excluded[m] for m in MEASURES},
        )
    return _UPSERTS[(dialect, name)]


def _upsert(session: Session, name: str, cells: dict[tuple, list]) -> None:
    keys = UPSERT_KEYS[name]
    rows = [dict(zip(keys, key, strict=True)) | dict(zip(MEASURES, cells[key], strict=True))
            for key in sorted(cells)]  # one lock order for every writer: no deadlocks
    statement = _upsert_statement(session.get_bind().dialect.name, name)
    session.connection().execute(statement, rows)


# PostgreSQL: every table's cells in one statement, each column passed as one array. An
# executemany per table cost a round trip and a few hundred microseconds of parameter handling
# per table on every answer; this is one prepared statement whatever the number of rows.
INT_MEASURES = ("n", "critical", "pairs")  # counts; the other measures are sums of floats
_PG_TYPES = {"kind": "varchar", "stage": "varchar", "month": "date", "day": "date",
             "store_id": "int", "region_id": "int", "touchpoint_id": "varchar",
             **dict.fromkeys(INT_MEASURES, "int")}
_PG_STATEMENTS: dict[tuple[str, ...], str] = {}


@dataclass(frozen=True)
class Part:
    """One write of a combined statement: `name` identifies its SQL (statements are cached by
    the names they combine), `cte` is `INSERT ...` with %s placeholders for `params` in order;
    `run` does the same write on its own (SQLite)."""

    name: str
    cte: str
    params: tuple
    run: object  # Callable[[Session], None]


def _upsert_cte(name: str) -> str:
    keys, columns = UPSERT_KEYS[name], (*UPSERT_KEYS[name], *MEASURES)
    arrays = ", ".join(f"%s::{_PG_TYPES.get(c, 'float8')}[]" for c in columns)
    updates = ", ".join(f"{m} = t.{m} + excluded.{m}" for m in MEASURES)
    return (f"INSERT INTO {name} AS t ({', '.join(columns)}) "
            f"SELECT * FROM unnest({arrays}) AS u({', '.join(columns)}) "
            f"ORDER BY {', '.join(keys)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")


def _write_pg(session: Session, before: tuple[Part, ...], cells: dict[str, dict[tuple, list]]):
    """WITH w0 AS (write), ..., wN AS (INSERT ... SELECT FROM unnest(arrays) ORDER BY key ON
    CONFLICT DO UPDATE SET m = m + excluded.m) SELECT 1. Summary rows go in key order and the
    tables in one fixed order for every writer: no deadlocks between writers."""
    names = tuple(name for name in UPSERT_TABLES if cells[name])
    if not names and not before:
        return
    key = (*(part.name for part in before), *names)
    if key not in _PG_STATEMENTS:
        ctes = [part.cte for part in before] + [_upsert_cte(name) for name in names]
        _PG_STATEMENTS[key] = "WITH " + ", ".join(
            f"w{i} AS ({cte})" for i, cte in enumerate(ctes)) + " SELECT 1"
    params: list = [p for part in before for p in part.params]
    for name in names:
        found = cells[name]
        keys = list(found)
        params += [list(column) for column in zip(*keys, strict=True)]
        for measure, column in zip(MEASURES, zip(*(found[key] for key in keys), strict=True),
                                   strict=True):  # one Python type per array
            params.append(list(map(int if measure in INT_MEASURES else float, column)))
    session.connection().exec_driver_sql(_PG_STATEMENTS[key], tuple(params))


# ---- recomputation: verify and rebuild --------------------------------------------------


def _month_of(dialect: str, column):
    if dialect == "postgresql":
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month", type_=Date)


def _row_measures() -> list:
    """One per-response score row's measures as SQL expressions (as `_measures`)."""
    paired = S.outcome.is_not(None)
    y = func.coalesce(S.outcome, 0.0)
    return [
        literal(1), S.score, S.score * S.score, case((S.critical_failed, 1), else_=0),
        case((paired, 1), else_=0), case((paired, S.score), else_=0.0), y, S.score * y,
        case((paired, S.score * S.score), else_=0.0), y * y,
    ]


def _overall_recompute(dialect: str):
    """The overall table from the responses: counted ones with an overall score."""
    from .responses import counted_sql

    r = Response
    month = _month_of(dialect, r.day).label("month")
    zeros = [literal(0 if m in INT_MEASURES else 0.0).label(m) for m in MEASURES[3:]]
    return (select(r.kind.label("kind"), r.stage.label("stage"), month,
                   r.store_id.label("store_id"), r.region_id.label("region_id"),
                   func.count().label("n"), func.sum(r.overall).label("total"),
                   func.sum(r.overall * r.overall).label("squares"), *zeros)
            .where(r.overall.is_not(None), counted_sql(r.kind, r.status))
            .group_by(r.kind, r.stage, month, r.store_id, r.region_id))


def recompute_query(name: str, dialect: str):
    """SELECT keys..., measures... from the per-response scores for one summary table."""
    if name == OVERALL:
        return _overall_recompute(dialect)
    month = _month_of(dialect, S.day)
    columns = {
        "kind": S.kind, "stage": S.stage, "month": month, "day": S.day, "store_id": S.store_id,
        "region_id": S.region_id, "touchpoint_id": S.touchpoint_id,
    }
    keys = [columns[k].label(k) for k in KEYS[name]]
    sums = [func.sum(expr).label(m) for expr, m in zip(_row_measures(), MEASURES, strict=True)]
    return select(*keys, *sums).where(S.counted).group_by(*keys)


def rebuild(session: Session) -> None:
    """Replace every summary row with a recomputation (the caller commits). On PostgreSQL the
    scores and responses tables are locked against writers meanwhile, so nothing written
    concurrently is missed; SQLite has one writer at a time anyway."""
    dialect = session.get_bind().dialect.name
    connection = session.connection()
    if dialect == "postgresql":
        connection.exec_driver_sql("LOCK TABLE touchpoint_score, response IN SHARE MODE")
    for name, table in TABLES.items():
        connection.execute(delete(table))
        query = recompute_query(name, dialect)
        connection.execute(table.insert().from_select([*KEYS[name], *MEASURES], query))
    from . import recent

    recent.rebuild(session)


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple
    stored: tuple | None
    expected: tuple | None

    def __str__(self) -> str:
        def show(values):
            if values is None:
                return "missing"
            return " ".join(f"{m}={v:.6g}" for m, v in zip(MEASURES, values, strict=True))

        key = " ".join(f"{k}={v}" for k, v in zip(UPSERT_KEYS[self.table], self.key,
                                                  strict=True))
        return f"{self.table} {key}: stored {show(self.stored)}; expected {show(self.expected)}"


def _close(a: Iterable[float], b: Iterable[float]) -> bool:
    return all(abs(x - y) <= 1e-6 + 1e-9 * max(abs(x), abs(y)) for x, y in zip(a, b, strict=True))


def _normal(key: tuple) -> tuple:
    return tuple(date.fromisoformat(k) if isinstance(k, str) and len(k) == 10 and k[4] == "-"
                 else k for k in key)


def verify(session: Session) -> list[Difference]:
    """Every summary row that differs from a recomputation from the per-response scores
    (rows whose count fell back to zero count as absent)."""
    from . import recent

    dialect = session.get_bind().dialect.name
    found = []
    for name, table in TABLES.items():
        found += _compare(session, name, table, recompute_query(name, dialect))
    window = recent.stored(session)
    expected = recent.recompute_query(*window) if window else None
    return found + _compare(session, RECENT, UPSERT_TABLES[RECENT], expected)


def _compare(session: Session, name: str, table, expected_query) -> list[Difference]:
    connection = session.connection()
    keys = UPSERT_KEYS[name]
    width = len(keys)
    expected = {} if expected_query is None else {
        _normal(tuple(row[:width])): tuple(float(v or 0) for v in row[width:])
        for row in connection.execute(expected_query)}
    stored = {}
    for row in connection.execute(select(*(table.c[k] for k in keys),
                                         *(table.c[m] for m in MEASURES))):
        values = tuple(float(v) for v in row[width:])
        if values[0] != 0 or not _close(values, (0.0,) * len(values)):
            stored[_normal(tuple(row[:width]))] = values
    found = []
    for key in sorted(expected.keys() | stored.keys(), key=repr):
        a, b = stored.get(key), expected.get(key)
        if a is None or b is None or not _close(a, b):
            found.append(Difference(name, key, a, b))
    return found


# ---- reads for the dashboard ------------------------------------------------------------


def _month_days(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def _per_store_plan(start: date, end: date):
    """(whole months, [(sign, first day, last day)]) for per-store reads: an edge covering
    most of its month is read as the whole month minus the days outside the range (usually
    the future days of this month: none), so few per-response rows are read."""
    split = month_split(start, end)
    months, parts = split.month_list(), []
    for first, last in split.edges:
        month = first.replace(day=1)
        month_end = month + timedelta(days=_month_days(month) - 1)
        inside = (last - first).days + 1
        if _month_days(month) - inside < inside:
            months.append(month)
            if first > month:
                parts.append((-1, month, first - timedelta(days=1)))
            if last < month_end:
                parts.append((-1, last + timedelta(days=1), month_end))
        else:
            parts.append((1, first, last))
    return sorted(months), parts


def _where_scope(query, scope, store_col, region_col):
    if scope is None:
        return query
    if scope.store_ids is not None:
        return query.where(store_col.in_(scope.store_ids or {-1}))
    if scope.region_id is not None:
        return query.where(region_col == scope.region_id)
    return query


def _by_stores(scope) -> bool:
    return scope is not None and scope.store_ids is not None


def _sources(*, kind: str, stage: str, start: date, end: date, scope, per_store: bool,
             by_month: bool, width: int, recent: tuple | None = None) -> list:
    """SELECTs of (touchpoint, [store, region], [month], measures...) whose sum is exact;
    `width`: how many of MEASURES (4: the Stats; 10: also the outcome moments); `recent`:
    the days the per-store recent rows hold (the default period, one row per store)."""
    out, measures = [], MEASURES[:width]
    fine = per_store or _by_stores(scope)  # needs store rows: per-response edges
    if fine and not by_month and recent == (start, end):
        t = UPSERT_TABLES[RECENT]
        cols = [t.c.touchpoint_id] + ([t.c.store_id, t.c.region_id] if per_store else [])
        query = select(*cols, *(t.c[m] for m in measures)).where(
            t.c.kind == kind, t.c.stage == stage, t.c.n > 0)
        return [_where_scope(query, scope, t.c.store_id, t.c.region_id)]
    months, parts = (_per_store_plan(start, end) if fine else
                     (month_split(start, end).month_list(),
                      [(1, a, b) for a, b in month_split(start, end).edges]))
    month_table = SM if fine else RM
    if months:
        t = month_table
        cols = [t.c.touchpoint_id]
        if per_store:
            cols += [t.c.store_id, t.c.region_id]
        if by_month:
            cols.append(t.c.month)
        query = select(*cols, *(t.c[m] for m in measures)).where(
            t.c.kind == kind, t.c.stage == stage, t.c.month.in_(months))
        store_col = t.c.store_id if fine else None
        out.append(_where_scope(query, scope, store_col, t.c.region_id))
    for sign, first, last in parts:
        month = literal(first.replace(day=1), Date).label("month")
        if fine:
            cols = [S.touchpoint_id]
            if per_store:
                cols += [S.store_id, S.region_id]
            if by_month:
                cols.append(month)
            values = [v * sign if sign < 0 else v for v in _row_measures()[:width]]
            query = select(*cols, *values).where(
                S.counted, S.kind == kind, S.stage == stage, S.day >= first, S.day <= last)
            out.append(_where_scope(query, scope, S.store_id, S.region_id))
        else:
            t = RD
            cols = [t.c.touchpoint_id] + ([month] if by_month else [])
            query = select(*cols, *(t.c[m] for m in measures)).where(
                t.c.kind == kind, t.c.stage == stage, t.c.day >= first, t.c.day <= last)
            out.append(_where_scope(query, scope, None, t.c.region_id))
    return out


def _grouped(*, per_store: bool, by_month: bool, width: int = 4, touchpoint: str | None = None,
             **window):
    """The summed SELECT over `_sources` (None when the range is empty)."""
    sources = _sources(per_store=per_store, by_month=by_month, width=width, **window)
    if touchpoint is not None:
        sources = [q.where(q.selected_columns[0] == touchpoint) for q in sources]
    if not sources:
        return None
    if per_store and not by_month and window.get("recent") == (window["start"], window["end"]):
        return sources[0]  # one recent row per store and touchpoint: nothing to add up
    union = union_all(*sources).subquery()
    keys = [union.c[0]] + ([union.c[1], union.c[2]] if per_store else [])
    if by_month:
        keys.append(union.c[len(keys)])
    first = len(keys)
    sums = [func.sum(union.c[first + i]) for i in range(width)]
    return select(*keys, *sums).group_by(*keys).having(func.sum(union.c[first]) > 0)


def _recent(session: Session, start: date, end: date) -> tuple | None:
    """The recent rows' days when they can serve start..end (the default period)."""
    from . import recent

    return recent.for_read(session, end) if end == recent.today() else None


def _summed(session: Session, **options) -> list:
    if options["per_store"] or _by_stores(options["scope"]):
        options["recent"] = _recent(session, options["start"], options["end"])
    query = _grouped(**options)
    return [] if query is None else session.connection().execute(query).all()


@dataclass(frozen=True)
class StoreRanking:
    """Per touchpoint, from every store's shrunken mean: the two values the best-quartile
    interpolates between, and the weakest stores of the scope (store id, Stats, shrunk)."""

    stores: int  # stores with data on this touchpoint, network-wide
    quartile_low: float
    quartile_high: float
    weakest: list


@dataclass(frozen=True)
class _Stores:
    """A scope of some stores (as `queries_dashboard.Scope`, which imports this module)."""

    store_ids: frozenset
    region_id: None = None


def _store_rows(session: Session, *, kind: str, stage: str, start: date, end: date,
                tps: list[str], scope=None) -> list[tuple]:
    """(touchpoint code, store, region, n, total) of every store with data: one row each from
    the recent rows for the default period, else summed in SQL. The code is the touchpoint's
    index in `tps`, an integer from SQL: 34,000 rows come back without a string each."""
    recent_days = _recent(session, start, end)
    query = _grouped(per_store=True, by_month=False, kind=kind, stage=stage, start=start,
                     end=end, scope=scope, recent=recent_days)
    if query is None or not tps:
        return []
    sub = query.subquery()
    code = case({t: i for i, t in enumerate(tps)}, value=sub.c[0], else_=-1)
    result = session.connection().execute(
        select(code, sub.c[1], sub.c[2], sub.c[3], sub.c[4]).where(code >= 0))
    try:
        return result.cursor.fetchall()  # the driver's tuples: no result-row objects
    finally:
        result.close()


def store_count(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope, tps: list[str]) -> int:
    """How many stores of the scope have scores of these touchpoints (as `store_ranking`
    counts them), counted in SQL: a calibrated board needs no per-store rows."""
    query = _grouped(per_store=True, by_month=False, kind=kind, stage=stage, start=start,
                     end=end, scope=scope, recent=_recent(session, start, end))
    if query is None or not tps:
        return 0
    sub = query.subquery()
    counted = select(func.count(sub.c[1].distinct())).where(sub.c[0].in_(tps), sub.c[3] > 0)
    return int(session.connection().execute(
        _where_scope(counted, scope, sub.c[1], sub.c[2])).scalar() or 0)


def overall_rows(session: Session, *, kind: str, start: date, end: date,
                 store_ids: set[int] | None = None, by_month: bool = False) -> list[tuple]:
    """(store, month or None, n, Σ overall, Σ overall²) of counted responses with an overall
    score (all stages), per store (and month): whole months from `summary_store_overall`, the
    days at the range's ends from the responses themselves, so any range is exact."""
    from .responses import counted_sql

    split = month_split(start, end)
    dialect = session.get_bind().dialect.name
    sources = []
    if split.months is not None:
        t = SO
        query = select(t.c.store_id, t.c.month if by_month else literal(None), t.c.n, t.c.total,
                       t.c.squares).where(t.c.kind == kind, t.c.month >= split.months[0],
                                          t.c.month <= split.months[1])
        if store_ids is not None:
            query = query.where(t.c.store_id.in_(store_ids or {-1}))
        sources.append(query)
    r = Response
    for first, last in split.edges:
        query = select(r.store_id, _month_of(dialect, r.day) if by_month else literal(None),
                       literal(1), r.overall, r.overall * r.overall).where(
            r.kind == kind, r.overall.is_not(None), counted_sql(r.kind, r.status),
            r.day >= first, r.day <= last)
        if store_ids is not None:
            query = query.where(r.store_id.in_(store_ids or {-1}))
        sources.append(query)
    if not sources:
        return []
    union = union_all(*sources).subquery()
    keys = [union.c[0], union.c[1]]
    summed = (select(*keys, func.sum(union.c[2]), func.sum(union.c[3]), func.sum(union.c[4]))
              .group_by(*keys).having(func.sum(union.c[2]) > 0))
    return [(sid, _normal((month,))[0] if by_month else None, int(n), float(total),
             float(squares))
            for sid, month, n, total, squares in session.connection().execute(summed)]


def _in_scope(scope, store_ids: np.ndarray, region_ids: np.ndarray) -> np.ndarray | None:
    """Which rows lie in the scope (None: all of them)."""
    if scope is None or (scope.store_ids is None and scope.region_id is None):
        return None
    if scope.store_ids is not None:
        return np.isin(store_ids, np.fromiter(scope.store_ids, np.int64, len(scope.store_ids)))
    return region_ids == scope.region_id


@dataclass(frozen=True)
class _Shrunk:
    """The per-store rows as arrays, each with its shrunken mean."""

    tp: np.ndarray  # code of each row's touchpoint
    store: np.ndarray
    region: np.ndarray
    n: np.ndarray
    shrunk: np.ndarray


def _shrunk(rows: list, tps: list[str], priors: dict[str, float], k: float) -> _Shrunk:
    """Vectorised: 2,000 stores x 17 touchpoints in a few milliseconds."""
    table = np.array(rows, dtype=float)  # one conversion in C: every column is a number
    tp, store, region = (table[:, i].astype(np.int64) for i in range(3))
    n, total = table[:, 3], table[:, 4]
    prior = np.array([float(priors[t]) for t in tps])[tp]
    return _Shrunk(tp, store, region, n, (total + k * prior) / (n + k))


def store_ranking(session: Session, *, kind: str, stage: str, start: date, end: date, scope,
                  priors: dict[str, float], k: float, count: int):
    """({touchpoint: StoreRanking}, stores in scope with data): the short board's per-store
    figures. The per-store sums come from SQL; ranking 2,000 stores per touchpoint is a sort
    of arrays, quicker here than window functions in SQLite. `priors`: the network mean of
    each touchpoint (shrinkage target)."""
    tps = sorted(priors)
    window = {"kind": kind, "stage": stage, "start": start, "end": end}
    rows = _store_rows(session, tps=tps, **window)
    if not rows:
        return {}, 0
    a = _shrunk(rows, tps, priors, k)
    inside = _in_scope(scope, a.store, a.region)
    # by touchpoint, then weakest first (ties: more responses, then the lower store id)
    order = np.lexsort((a.store, -a.n, a.shrunk, a.tp))
    bounds = np.searchsorted(a.tp[order], np.arange(len(tps) + 1))
    found = {}
    for code, tp_id in enumerate(tps):
        segment = order[bounds[code]:bounds[code + 1]]
        if len(segment):
            low = 3 * (len(segment) - 1) // 4
            chosen = segment if inside is None else segment[inside[segment]]
            found[tp_id] = (len(segment), a.shrunk[segment[low]],
                            a.shrunk[segment[min(low + 1, len(segment) - 1)]], chosen[:count])
    # the full figures (squares, red lines) of the few stores shown
    shown = frozenset(int(a.store[i]) for *_, chosen in found.values() for i in chosen)
    stats, _ = store_stats(session, scope=_Stores(shown), **window) if shown else ({}, {})
    out = {tp_id: StoreRanking(stores, float(low), float(high), [
        (int(a.store[i]), stats[tp_id][int(a.store[i])], float(a.shrunk[i])) for i in chosen])
        for tp_id, (stores, low, high, chosen) in found.items()}
    stores = a.store if inside is None else a.store[inside]
    return out, int(np.unique(stores).size)


def _stats(values) -> Stats:
    n, total, squares, critical = values[:4]
    return Stats(int(n), float(total), float(squares), int(critical))


def _moments(values) -> Moments:
    pairs, *sums = values[4:]
    return Moments(int(pairs), *(float(v) for v in sums))


def store_order(session: Session, *, kind: str, stage: str, start: date, end: date, scope,
                priors: dict[str, float], k: float, limit: int) -> tuple[list[int], int]:
    """(the `limit` stores of the scope weakest over all touchpoints - the mean of their
    shrunken touchpoint means - weakest first; how many stores the scope has with data)."""
    tps = sorted(priors)
    rows = _store_rows(session, kind=kind, stage=stage, start=start, end=end, tps=tps,
                       scope=scope)
    if not rows:
        return [], 0
    a = _shrunk(rows, tps, priors, k)
    stores, index = np.unique(a.store, return_inverse=True)
    overall = np.bincount(index, weights=a.shrunk) / np.bincount(index)
    order = np.lexsort((stores, overall))[:limit]
    return [int(sid) for sid in stores[order]], int(stores.size)


def store_stats(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope=None, touchpoint: str | None = None
                ) -> tuple[dict[str, dict[int, Stats]], dict[int, int]]:
    """({touchpoint: {store id: Stats}}, {store id: region id}) over counted scores (of one
    touchpoint when given)."""
    out: dict[str, dict[int, Stats]] = defaultdict(dict)
    region_of: dict[int, int] = {}
    for tp, store_id, region_id, *values in _summed(
            session, per_store=True, by_month=False, kind=kind, stage=stage, start=start,
            end=end, scope=scope, touchpoint=touchpoint):
        out[tp][store_id] = _stats(values)
        region_of[store_id] = region_id
    return dict(out), region_of


def scope_stats(session: Session, *, kind: str, stage: str, start: date, end: date,
                scope=None) -> dict[str, Stats]:
    """{touchpoint: Stats} for the scope as a whole."""
    rows = _summed(session, per_store=False, by_month=False, kind=kind, stage=stage,
                   start=start, end=end, scope=scope)
    return {tp: _stats(values) for tp, *values in rows}


def scope_moments(session: Session, *, stage: str, start: date, end: date,
                  scope=None) -> dict[str, Moments]:
    """{touchpoint: Moments} pairing customer surveys' touchpoint scores with their outcome."""
    rows = _summed(session, per_store=False, by_month=False, width=len(MEASURES),
                   kind="customer_survey", stage=stage, start=start, end=end, scope=scope)
    return {tp: _moments(values) for tp, *values in rows if values[4]}


def monthly_stats(session: Session, *, kind: str, stage: str, start: date, end: date,
                  scope=None) -> dict[str, dict[tuple[int, int], Stats]]:
    """{touchpoint: {(year, month): Stats}} for the scope, months cut to start..end."""
    out: dict[str, dict[tuple[int, int], Stats]] = defaultdict(dict)
    for tp, month, *values in _summed(session, per_store=False, by_month=True, kind=kind,
                                      stage=stage, start=start, end=end, scope=scope):
        month = date.fromisoformat(month) if isinstance(month, str) else month
        out[tp][(month.year, month.month)] = _stats(values)
    return dict(out)

