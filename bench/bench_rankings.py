"""Short boards and every dashboard view at network scale, fresh after each write.

Seeds a fresh database with 2,000 stores in 20 regions, 200,000 mystery shops and 1,000,000
customer surveys over 12 months (bulk inserts: executemany on SQLite, COPY on PostgreSQL; the
summary rows are then built as the migration builds them for existing data), then times the
real pages:

- fresh: before each view one new scored response is written through the app's write path
  (`responses.create_scored_response`, which keeps the summaries; the app has no cache to be
  stale, every view reads the summary rows): the network- and region-scope short board
  (`GET /manager/`, default filters: sales, last 90 days), then the store league, heat map and
  trends at network scope;
- steady (the line's `p95_ms`, formerly the cached figure): the same board viewed again and
  again with no write in between;
- naive: the same ranking computed from the answers with the scoring module in Python, which
  must agree with the SQL ranking.

Answers are generated per item like the demo data and scored with the scoring module, on a
pool of answer patterns per store profile that responses reuse (scoring 1.2M responses one
by one would take longer than the whole benchmark).

Environment: BENCH_SCALE (default 1.0) scales the response counts; BENCH_DIR the folder for
the SQLite file; BENCH_KEEP=1 keeps that file and reuses it on the next run;
TEST_DATABASE_URL (or BENCH_DATABASE_URL) also runs it on PostgreSQL (that database is reset,
unless BENCH_KEEP=1 finds it seeded); BENCH_ONLY=sqlite|postgresql runs one of them;
BENCH_SEED_ONLY=1 stops after seeding; BENCH_REBUILD=1 rebuilds the summaries of a reused one;
BENCH_NAIVE_RUNS (3) how often the naive ranking is timed per scope.
Lines: `bench view-<league|heatmap|trends>: fresh_p95_ms=<x> db=<sqlite|postgresql>`, then
`bench rankings[_postgresql]: fresh_p95_ms=<x> p95_ms=<cached> naive_p95_ms=<y> speedup=<y/x>
responses=<n>`.
"""

from __future__ import annotations

import gc
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

STORES, REGIONS = 2000, 20
SHOPPERS = 400  # 20 per region: a shop is made by one of its region's shoppers
SHOPS, SURVEYS = 200_000, 1_000_000
PATTERNS = 64  # answer patterns per (instrument, store profile)
PROFILES = 40  # distinct store profiles (weak touchpoints)
RUNS = 20
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"


def _app(url: str):
    from app import create_app

    # fits are made once below, before timing (not by a thread started mid-timing)
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "SURVEYS_DIR": str(ROOT / "surveys"),
                       "CALIBRATION_AUTO": False})


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _setup(app) -> dict:
    """Migrate, load the shipped instruments, create regions, stores and two managers."""
    from sqlmodel import select

    from app.auth import hash_password
    from app.db import new_session
    from app.domain.definitions import check, load_taxonomy
    from app.instruments import active_versions, load_instrument
    from app.instruments import load_taxonomy as store_tax
    from app.migrate import upgrade
    from app.models import Region, Store, User

    with app.app_context():
        upgrade(app.extensions["engine"])
        with new_session() as session:
            taxonomy = load_taxonomy(ROOT / "surveys" / "touchpoints.yaml")
            problems, instruments = check([ROOT / "surveys"], taxonomy)
            assert not problems, problems
            store_tax(session, taxonomy)
            for instrument in instruments:
                load_instrument(session, instrument)
            regions = [Region(code=f"r{i:02d}", name=f"区域{i:02d}") for i in range(REGIONS)]
            session.add_all(regions)
            session.flush()
            session.add_all(Store(code=f"S{i:04d}", name=f"门店{i:04d}",
                                  region_id=regions[i % REGIONS].id) for i in range(STORES))
            hashed = hash_password(PASSWORD)
            session.add_all(User(username=f"bench_shopper{i:03d}", role="shopper",
                                 password_hash=hashed) for i in range(SHOPPERS))
            session.add_all([
                User(username="bench_admin", role="admin", password_hash=hashed),
                User(username="bench_manager", role="manager", password_hash=hashed,
                     region_id=regions[3].id),
            ])
            session.commit()
            stores = [(s.id, s.region_id) for s in session.exec(select(Store).order_by(Store.id))]
            versions = active_versions(session)
            shoppers = [u.id for u in session.exec(select(User).where(User.role == "shopper")
                                                   .order_by(User.id))]
            return {"stores": stores, "versions": versions, "region": regions[3].id,
                    "shoppers": shoppers}


def _patterns(versions, rng) -> dict:
    """{(version id, profile): [(overall, answers rows, touchpoint rows)]} scored once."""
    from app.demo import generate_answers
    from app.domain.scoring import score
    from app.instruments import definition
    from app.responses import outcome_value

    all_tps = sorted({s.touchpoint for v in versions for s in definition(v).sections})
    profiles = []
    for _ in range(PROFILES):
        profile = {tp: rng.uniform(0.78, 0.96) for tp in all_tps}
        for tp in rng.sample(all_tps, 3):
            profile[tp] = rng.uniform(0.45, 0.7)
        profiles.append(profile)
    pool = {}
    for version in versions:
        instrument = definition(version)
        for p, profile in enumerate(profiles):
            entries = []
            for _ in range(PATTERNS):
                answers = generate_answers(instrument, profile, rng)
                result = score(instrument, answers)
                rows = [(item, json.dumps(value, ensure_ascii=False, separators=(",", ":")))
                        for item, value in answers.items()]
                outcome = outcome_value(instrument, answers) \
                    if version.kind == "customer_survey" else None
                tps = [(tp, value, tp in result.critical_failed, outcome)
                       for tp, value in result.touchpoints.items() if value is not None]
                entries.append((result.overall, rows, tps))
            pool[(version.id, p)] = entries
    return pool


class _Writer:
    """Bulk insert through the driver: executemany (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, engine):
        self.raw = engine.raw_connection()
        self.sqlite = engine.dialect.name == "sqlite"
        if self.sqlite:
            cur = self.raw.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-400000")

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        cur = self.raw.cursor()
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        else:
            with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        self.raw.close()


R_COLS = ("id", "uuid", "instrument_version_id", "kind", "stage", "channel", "status",
          "store_id", "region_id", "day", "overall", "review_comment", "created_at",
          "submitted_at", "shopper_id", "reviewed_at")
A_COLS = ("response_id", "item_id", "value")
T_COLS = ("response_id", "touchpoint_id", "store_id", "region_id", "day", "kind", "stage",
          "score", "critical_failed", "counted", "outcome")


def _seed(app, info: dict, scale: float, rng: random.Random) -> int:
    versions = info["versions"]
    pool = _patterns(versions, rng)
    by_kind = defaultdict(list)
    for v in versions:
        by_kind[v.kind].append(v)
    profile_of = {sid: rng.randrange(PROFILES) for sid, _ in info["stores"]}
    today = date.today()
    writer = _Writer(app.extensions["engine"])
    sqlite = writer.sqlite
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    plan = [("mystery_shop", int(SHOPS * scale)), ("customer_survey", int(SURVEYS * scale))]
    rid, chunk = 0, 20_000
    for kind, total in plan:
        status = "approved" if kind == "mystery_shop" else "submitted"
        channel = "shopper" if kind == "mystery_shop" else "qr"
        for begin in range(0, total, chunk):
            responses, answers, scores = [], [], []
            for _ in range(min(chunk, total - begin)):
                rid += 1
                store_id, region_id = info["stores"][rng.randrange(STORES)]
                version = by_kind[kind][rng.randrange(len(by_kind[kind]))]
                overall, rows, tps = rng.choice(pool[(version.id, profile_of[store_id])])
                day = today - timedelta(days=rng.randrange(365))
                d = day.isoformat() if sqlite else day
                shopper = _shopper(info, region_id, rng) if kind == "mystery_shop" else None
                # a report is approved the day after the visit (never after the seeding): the
                # planner's statistics then see approval times as they are in real data
                reviewed = None
                if kind == "mystery_shop":
                    reviewed = min(datetime.combine(day + timedelta(days=1), datetime.min.time(),
                                                    UTC) + timedelta(hours=10), now)
                    reviewed = reviewed.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else reviewed
                responses.append((rid, str(uuid.uuid4()), version.id, kind, version.stage,
                                  channel, status, store_id, region_id, d, overall, "", stamp,
                                  stamp, shopper, reviewed))
                answers.extend((rid, item, value) for item, value in rows)
                scores.extend((rid, tp, store_id, region_id, d, kind, version.stage, value,
                               crit, True, outcome) for tp, value, crit, outcome in tps)
            writer.insert("response", R_COLS, responses)
            writer.insert("answer", A_COLS, answers)
            writer.insert("touchpoint_score", T_COLS, scores)
            writer.commit()
    cur = writer.raw.cursor()
    if sqlite:
        cur.execute("ANALYZE")
    else:
        cur.execute("SELECT setval(pg_get_serial_sequence('response', 'id'), "
                    "(SELECT max(id) FROM response))")
        cur.execute("ANALYZE")
    writer.commit()
    writer.close()
    return rid


def _shopper(info: dict, region_id: int, rng: random.Random) -> int:
    """One of the region's shoppers, or one from elsewhere (one visit in five)."""
    shoppers = info["shoppers"]
    per_region = len(shoppers) // REGIONS
    if rng.random() < 0.2:
        return shoppers[rng.randrange(len(shoppers))]
    return shoppers[(region_id % REGIONS) * per_region + rng.randrange(per_region)]


def _fit(app) -> None:
    """The default period's calibration fits, as the background job makes them after data
    change: the timed views read stored fits, never fit."""
    from app.calibration.compute import calibrate, rolling_window

    first, last = rolling_window(date.today())
    with app.app_context():
        for stage in ("sales", "aftersales"):
            started = time.perf_counter()
            done = calibrate(stage, first.isoformat(), last.isoformat(), rolling=True)
            print(f"rankings: calibration fit of the default period ({stage}): "
                  f"{done.get('visits', '?')} visits in {time.perf_counter() - started:.1f} s")


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _client(app, username: str):
    client = app.test_client()
    reply = client.post("/login", data={"username": username, "password": PASSWORD})
    assert reply.status_code == 302, reply.status_code
    return client


def _summarise(app) -> float:
    """Build the summary rows for the bulk-inserted data (as migration 0005 does for an
    existing database); seconds taken."""
    from app import summaries
    from app.db import new_session

    started = time.perf_counter()
    with app.app_context(), new_session() as session:
        summaries.rebuild(session)
        session.commit()
        session.connection().exec_driver_sql("ANALYZE")
        session.commit()
    return time.perf_counter() - started


class _Writer1:
    """One new scored response per call, through the app's write path, alternating a
    submitted customer survey and an approved mystery shop, for today."""

    def __init__(self, app, info: dict, rng: random.Random):
        from app.demo import generate_answers
        from app.instruments import definition

        self.app, self.info, self.rng, self.count = app, info, rng, 0
        self.forms = [(v, generate_answers(definition(v), {}, rng)) for v in info["versions"]
                      if v.stage == "sales"]

    def __call__(self) -> None:
        from app.db import new_session
        from app.models import Store
        from app.responses import create_scored_response

        version, answers = self.forms[self.count % len(self.forms)]
        self.count += 1
        store_id, _region = self.info["stores"][self.rng.randrange(len(self.info["stores"]))]
        with self.app.app_context(), new_session() as session:
            create_scored_response(
                session, version=version, store=session.get(Store, store_id), raw_answers=answers,
                channel="qr" if version.kind == "customer_survey" else "demo",
                status="submitted" if version.kind == "customer_survey" else "approved",
                day=date.today())
            session.commit()


def _timed_get(client, url: str) -> float:
    start = time.perf_counter()
    page = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    assert page.status_code == 200, (url, page.status_code)
    return elapsed


def _fresh(app, client, url: str, write, runs: int) -> list[float]:
    """Write, then view: every view follows new data."""
    samples = []
    for _ in range(runs):
        write()
        samples.append(_timed_get(client, url))
    return samples


def _time_pages(app, runs: int, write) -> tuple[dict, dict, dict]:
    """({scope: fresh samples}, {scope: steady samples}, {view: fresh samples})."""
    fresh, steady, views = {}, {}, {}
    clients = {"network": _client(app, "bench_admin"), "region": _client(app, "bench_manager")}
    for client in clients.values():
        client.get("/manager/")  # warm the process (templates, translations)
    # as a gunicorn worker is once it has started (gunicorn.conf.py, post_worker_init): what the
    # start left in memory is out of the garbage collector's sight
    gc.collect()
    gc.freeze()
    for scope, client in clients.items():
        fresh[scope] = _fresh(app, client, "/manager/", write, runs)
    for name, url in (("league", "/manager/league"), ("heatmap", "/manager/heatmap"),
                      ("trends", "/manager/trends")):
        clients["network"].get(url)
        views[name] = _fresh(app, clients["network"], url, write, runs)
    for scope, client in clients.items():
        client.get("/manager/")
        steady[scope] = [_timed_get(client, "/manager/") for _ in range(runs)]
    return fresh, steady, views


def _naive(app, region_id: int | None) -> tuple[dict[str, tuple[float, int]], float]:
    """Touchpoint means for the default board (sales mystery shops, last 90 days) from the
    Answer rows and the scoring module; returns ({tp: (mean, n)}, seconds)."""
    from sqlmodel import select

    from app.db import new_session
    from app.domain.ranking import parse_period
    from app.domain.scoring import score
    from app.instruments import definition
    from app.models import Answer, InstrumentVersion, Response

    period = parse_period(None, today=date.today())
    start = time.perf_counter()
    with app.app_context(), new_session() as session:
        defs = {v.id: definition(v) for v in session.exec(select(InstrumentVersion))}
        query = (
            select(Answer.response_id, Response.instrument_version_id, Answer.item_id,
                   Answer.value)
            .join(Response, Response.id == Answer.response_id)
            .where(Response.kind == "mystery_shop", Response.stage == "sales",
                   Response.status == "approved", Response.day >= period.start,
                   Response.day <= period.end)
            .order_by(Answer.response_id)
        )
        if region_id is not None:
            query = query.where(Response.region_id == region_id)
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        current, version, answers = None, None, {}

        def flush():
            if current is None:
                return
            for tp, value in score(defs[version], answers).touchpoints.items():
                if value is not None:
                    sums[tp][0] += value
                    sums[tp][1] += 1

        for response_id, version_id, item_id, value in session.exec(query):
            if response_id != current:
                flush()
                current, version, answers = response_id, version_id, {}
            answers[item_id] = json.loads(value)
        flush()
    return {tp: (s / n, n) for tp, (s, n) in sums.items()}, time.perf_counter() - start


def _fast(app, region_id: int | None) -> dict[str, tuple[float, int]]:
    from app import dashboard
    from app.db import new_session
    from app.domain.ranking import parse_period
    from app.queries_dashboard import Scope

    scope = Scope("region", region_id=region_id) if region_id else Scope("network")
    f = dashboard.Filters(scope, parse_period(None, today=date.today()), "sales",
                          "mystery_shop", 5.0)
    with app.app_context(), new_session() as session:
        board = dashboard.build_board(session, f, small_n=5)
    return {r.touchpoint_id: (r.mean, r.stats.n) for r in board.rows if r.stats.n}


def _agree(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k][1] == b[k][1] and abs(a[k][0] - b[k][0]) < 1e-6 for k in a)


def _reused(app) -> tuple[dict, int]:
    from sqlmodel import func, select

    from app.db import new_session
    from app.instruments import active_versions
    from app.models import Region, Response, Store, User

    with app.app_context(), new_session() as session:
        region = session.exec(select(Region).where(Region.code == "r03")).one()
        stores = [(s.id, s.region_id) for s in session.exec(select(Store).order_by(Store.id))]
        shoppers = [u.id for u in session.exec(select(User).where(User.role == "shopper")
                                               .order_by(User.id))]
        return ({"region": region.id, "stores": stores, "versions": active_versions(session),
                 "shoppers": shoppers},
                session.exec(select(func.count()).select_from(Response)).one())


def run(url: str, label: str, scale: float, reuse: bool = False) -> None:
    rng = random.Random(20240601)
    app = _app(url)
    started = time.perf_counter()
    if reuse:
        with app.app_context():
            from app.migrate import upgrade

            upgrade(app.extensions["engine"])
        if os.environ.get("BENCH_REBUILD") == "1":
            print(f"rankings[{label}]: summary rows rebuilt in {_summarise(app):.1f} s")
        info, responses = _reused(app)
        print(f"rankings[{label}]: reusing the seeded database ({responses} responses)")
        summarising = 0.0
    else:
        info = _setup(app)
        responses = _seed(app, info, scale, rng)
        summarising = _summarise(app)
    seeding = time.perf_counter() - started
    print(f"rankings[{label}]: seeded {STORES} stores, {REGIONS} regions, {responses} responses "
          f"({int(SHOPS * scale)} shops, {int(SURVEYS * scale)} surveys) in {seeding:.1f} s, "
          f"of which building the summary rows {summarising:.1f} s")
    if os.environ.get("BENCH_SEED_ONLY") == "1":
        return
    _fit(app)
    fresh, steady, views = _time_pages(app, RUNS, _Writer1(app, info, rng))
    for scope in fresh:
        print(f"rankings[{label}]: {scope} short board after a write: "
              f"p50={statistics.median(fresh[scope]):.0f} ms p95={_p95(fresh[scope]):.0f} ms; "
              f"steady p95={_p95(steady[scope]):.0f} ms over {len(fresh[scope])} requests")
    naive_times, agree = [], True
    for region in (None, info["region"]):
        fast = _fast(app, region)
        for _ in range(int(os.environ.get("BENCH_NAIVE_RUNS", "3"))):
            slow, seconds = _naive(app, region)
            naive_times.append(seconds * 1000)
        agree = agree and _agree(fast, slow)
    print(f"rankings[{label}]: naive ranking from answers agrees with SQL ranking: {agree}")
    if not agree:
        raise SystemExit("naive and SQL rankings disagree")
    for name, samples in views.items():
        print(f"bench view-{name}: fresh_p95_ms={_p95(samples):.0f} db={label}")
    fresh_p95 = _p95(fresh["network"])
    p95 = _p95(steady["network"])
    naive = _p95(naive_times)
    name = "rankings" if label == "sqlite" else f"rankings_{label}"
    print(f"rankings[{label}]: region short board fresh p95={_p95(fresh['region']):.0f} ms")
    print(f"bench {name}: fresh_p95_ms={fresh_p95:.0f} p95_ms={p95:.0f} naive_p95_ms={naive:.0f} "
          f"speedup={naive / fresh_p95:.1f} responses={responses + RUNS * 5}")
    app.extensions["engine"].dispose()


def _seeded_postgres(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT to_regclass('response') IS NOT NULL")).scalar()
                        and conn.execute(text("SELECT EXISTS (SELECT 1 FROM response)")).scalar())
    finally:
        engine.dispose()


def main() -> None:
    scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    keep = os.environ.get("BENCH_KEEP") == "1"  # keep the databases and reuse them next time
    if pg and os.environ.get("BENCH_ONLY") != "sqlite":
        reuse = keep and _seeded_postgres(pg)
        if not reuse:
            _reset_postgres(pg)
        run(pg, "postgresql", scale, reuse=reuse)
    if os.environ.get("BENCH_ONLY") == "postgresql":
        return
    folder = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="bench-rankings-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_file = folder / "rankings.db"
    reuse = keep and db_file.exists()
    if not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    try:
        run(f"sqlite:///{db_file}", "sqlite", scale, reuse=reuse)
    finally:
        for suffix in ("", "-wal", "-shm"):
            if not keep:
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
