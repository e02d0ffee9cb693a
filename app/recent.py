"""The dashboard's default period, the last 90 days, summed per store at write time.

Month rows (`summaries`) make any period exact, but the default board (the 90 days up to
today) would still sum each store's month rows and a week of per-response rows on every
view: some 100,000 rows grouped into one per store and touchpoint. `summary_store_recent`
holds those sums already, so the network board reads one row per store and touchpoint and
ranks them.

The window moves once a day (`advance`): the days that left it are taken away and the days
that entered are added from the per-response rows (a day's worth; everything when it was not
moved for the window's length), in a transaction of its own: by the first view of the day, or
on PostgreSQL by the first write. A writer adds a counted row when its day lies inside the
window as stored. On PostgreSQL the writer reads the window row `FOR SHARE` and keeps that
lock to its commit, and `advance` locks it `FOR UPDATE`: moving the window waits for every
writer that decided with the old window, and writers after it see the new one. SQLite has
one writer at a time. A window that could not be moved (a lock held too long) stays as it
was and is still exact for its own days; readers then use the general path.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import bindparam, delete, func, literal, select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from .domain.ranking import DEFAULT_DAYS
from .models import RecentWindow, StoreRecentSummary, TouchpointScore

S = TouchpointScore
R = StoreRecentSummary.__table__
W = RecentWindow.__table__
NAME = "summary_store_recent"
KEYS = ("kind", "stage", "store_id", "region_id", "touchpoint_id")
_INFO = "recent_window"


def today() -> date:
    return date.today()


def stored(session: Session) -> tuple[date, date] | None:
    """(first, last) day the recent rows hold, or None before the first build."""
    row = session.connection().execute(select(W.c.last_day, W.c.days).where(W.c.id == 1)).first()
    return None if row is None else _span(row.last_day, row.days)


def _span(last, days: int) -> tuple[date, date]:
    last = date.fromisoformat(last) if isinstance(last, str) else last
    return last - timedelta(days=days - 1), last


def for_read(session: Session, day: date | None = None) -> tuple[date, date] | None:
    """The window, moved to `day` (today) first when it is behind; None when there is none."""
    day = day or today()
    window = stored(session)
    if window is None or window[1] < day:
        _advance_apart(session, day)
        window = stored(session)
    return window


# built once: every answer runs it, and building it cost more than running it
_CURRENT = (select(W.c.last_day, W.c.days).where(W.c.id == 1, W.c.last_day >= bindparam("day"))
            .with_for_update(read=True))


def for_write(session: Session) -> tuple[date, date] | None:
    """The window this transaction adds its rows to (read once per transaction; locked FOR
    SHARE on PostgreSQL until it ends, see the module's docstring)."""
    transaction = session.get_transaction()
    cached = session.info.get(_INFO)
    if cached is not None and cached[0] is transaction:
        return cached[1]
    connection = session.connection()
    day = today()
    if connection.dialect.name == "postgresql":
        # locked only when current (a stale row is not locked: moving it apart must not wait
        # for this transaction); one statement in the common case
        row = connection.execute(_CURRENT, {"day": day}).first()
        if row is None:
            _advance_apart(session, day)
            row = connection.execute(_CURRENT, {"day": day}).first()
            if row is None:  # could not be moved: add to the window as stored (exact for it)
                row = connection.execute(select(W.c.last_day, W.c.days).where(W.c.id == 1)
                                         .with_for_update(read=True)).first()
    else:
        # SQLite: moving the window here would read this transaction's own new rows and add
        # them twice; a stale window stays exact for its days, and the next view moves it
        row = connection.execute(select(W.c.last_day, W.c.days).where(W.c.id == 1)).first()
    window = None if row is None else _span(row.last_day, row.days)
    session.info[_INFO] = (transaction, window)
    return window


def _advance_apart(session: Session, day: date) -> None:
    """Move the window in a transaction of its own (committed at once); give up quietly when
    the database is busy: the window stays consistent, only older."""
    engine = session.get_bind()
    try:
        with engine.begin() as connection:
            advance(connection, day)
    except OperationalError:
        pass


def advance(connection, day: date, days: int = DEFAULT_DAYS) -> None:
    """Bring the window to end on `day` (in the caller's transaction)."""
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql("SET LOCAL lock_timeout = '3s'")
    query = select(W.c.last_day, W.c.days).where(W.c.id == 1)
    row = connection.execute(query.with_for_update() if postgres else query).first()
    if row is not None:
        first, last = _span(row.last_day, row.days)
        if last >= day:
            return
    new_first = day - timedelta(days=days - 1)
    if row is None or row.days != days or last < new_first:
        connection.execute(delete(R))
        _add_days(connection, new_first, day, +1)
    else:
        _add_days(connection, first, new_first - timedelta(days=1), -1)
        _add_days(connection, last + timedelta(days=1), day, +1)
        connection.execute(delete(R).where(R.c.n == 0))
    if row is None:
        connection.execute(W.insert().values(id=1, last_day=day, days=days))
    else:
        connection.execute(W.update().where(W.c.id == 1).values(last_day=day, days=days))


def recompute_query(first: date, last: date):
    """Per store and touchpoint, the counted scores of first..last."""
    from .summaries import MEASURES, _row_measures

    keys = [S.kind, S.stage, S.store_id, S.region_id, S.touchpoint_id]
    sums = [func.sum(expr).label(m) for expr, m in zip(_row_measures(), MEASURES, strict=True)]
    return (select(*keys, *sums)
            .where(S.counted, S.day >= first, S.day <= last).group_by(*keys))


def _add_days(connection, first: date, last: date, sign: int) -> None:
    """Add (or take away) the counted scores of first..last, per store and touchpoint."""
    if last < first:
        return
    from .summaries import MEASURES, _upsert_statement

    grouped = recompute_query(first, last).subquery()
    measures = [grouped.c[m] * literal(sign) if sign < 0 else grouped.c[m] for m in MEASURES]
    source = select(*(grouped.c[k] for k in KEYS), *measures).where(literal(True))
    statement = _upsert_statement(connection.dialect.name, NAME)
    connection.execute(statement.from_select([*KEYS, *MEASURES], source))


def rebuild(session: Session) -> None:
    """Recompute the recent rows for the stored window (the caller commits)."""
    window = stored(session)
    connection = session.connection()
    connection.execute(delete(R))
    if window is not None:
        _add_days(connection, *window, +1)


def add_cells(session: Session, rows, sign: int, cells: dict) -> None:
    """Collect the rows inside this transaction's window into `cells` (key -> measures) for
    `summaries._upsert`."""
    from .summaries import MEASURES, _measures

    window = None
    for tp, store_id, region_id, day, kind, stage, score, critical, outcome in rows:
        if window is None:
            window = for_write(session) or (date.max, date.min)
        if not window[0] <= day <= window[1]:
            continue
        cell = cells.setdefault((kind, stage, store_id, region_id, tp), [0] * len(MEASURES))
        for i, v in enumerate(_measures(score, critical, outcome)):
            cell[i] += sign * v
