"""Monthly PDF reports.

`store-report-pdf`: a demo store's month (the demo seed: photos on failed items, actions,
cases), rendered through the real route after one warm-up render that loads the font; the
median of five renders.
`region-report-batch`: every store's PDF of a region of 100 stores, built into one ZIP by the
same function the background job runs.

Environment: BENCH_DIR the folder for the SQLite file and the photos (default: a temp dir).
Last lines: `bench store-report-pdf: pages=<n> seconds=<s>` and
`bench region-report-batch: stores=<n> seconds=<s>`.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGION_STORES = 100
RUNS = 5


def _app(folder: Path):
    from app import create_app

    return create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
                       "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                       "SURVEYS_DIR": str(ROOT / "surveys"), "STORAGE_DIR": str(folder / "st"),
                       "REPORTS_DIR": str(folder / "reports"),
                       "LOGIN_RATE_LIMIT": "100000 per minute"})


def _seed(app) -> None:
    from app.db import new_session
    from app.demo import seed
    from app.domain.definitions import check, load_taxonomy
    from app.instruments import load_instrument
    from app.instruments import load_taxonomy as store_tax
    from app.migrate import upgrade

    with app.app_context():
        upgrade(app.extensions["engine"])
        with new_session() as session:
            taxonomy = load_taxonomy(ROOT / "surveys" / "touchpoints.yaml")
            problems, instruments = check([ROOT / "surveys"], taxonomy)
            assert not problems, problems
            store_tax(session, taxonomy)
            for instrument in instruments:
                load_instrument(session, instrument)
            session.commit()
            seed(session, months=3, random_seed=20261121, storage=app.config["STORAGE_DIR"])


def _big_region(app, month_day: date) -> int:
    """A region of 100 stores with two approved shops each in the month."""
    from sqlmodel import select

    from app.db import new_session
    from app.demo import generate_answers
    from app.instruments import active_versions, definition
    from app.models import Region, Store
    from app.responses import create_scored_response

    rng = random.Random(3)
    with app.app_context(), new_session() as session:
        region = Region(code="bench", name="压测区")
        session.add(region)
        session.flush()
        stores = [Store(code=f"B{i:03d}", name=f"压测{i:03d}店", region_id=region.id)
                  for i in range(REGION_STORES)]
        session.add_all(stores)
        session.flush()
        shops = [v for v in active_versions(session) if v.kind == "mystery_shop"]
        for store in stores:
            for version in shops:
                instrument = definition(version)
                create_scored_response(
                    session, version=version, store=store, channel="demo", status="approved",
                    raw_answers=generate_answers(instrument, {}, rng), day=month_day)
        session.commit()
        return session.exec(select(Region.id).where(Region.code == "bench")).one()


def _store_with_photos(app, month: str) -> str:
    from sqlalchemy import func
    from sqlmodel import select

    from app.db import new_session
    from app.models import Response, ResponseEvidence, Store

    with app.app_context(), new_session() as session:
        start = date.fromisoformat(month + "-01")
        row = session.exec(
            select(Store.code, func.count(ResponseEvidence.sha256))
            .join(Response, Response.store_id == Store.id)
            .join(ResponseEvidence, ResponseEvidence.response_id == Response.id)
            .where(Response.day >= start).group_by(Store.code)
            .order_by(func.count(ResponseEvidence.sha256).desc())).first()
        return row[0] if row else "SH01"


def _pages(app, code: str, month: str) -> int:
    from sqlmodel import select

    from app import reports
    from app.db import new_session
    from app.domain.ranking import parse_period
    from app.models import Store

    with app.app_context(), app.test_request_context(), new_session() as session:
        store = session.exec(select(Store).where(Store.code == code)).one()
        return len(reports.store_document(session, store, parse_period(month, today=None)).pages)


def main() -> None:
    folder = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="bench-reports-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.db").unlink(missing_ok=True)
    app = _app(folder)
    _seed(app)
    today = date.today()
    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")  # last full month
    code = _store_with_photos(app, month)
    client = app.test_client()
    with app.app_context():
        from app.db import new_session
        from app.models import User

        with new_session() as session:
            from sqlmodel import select

            admin = session.exec(select(User).where(User.role == "admin")).first()
        with new_session() as session:
            from app import sessions

            token = sessions.start(session, admin.id)  # login sessions live in the database
    with client.session_transaction() as browser:
        from app.auth import SESSION_TOKEN

        browser["_user_id"] = str(admin.id)
        browser["_fresh"] = True
        browser[SESSION_TOKEN] = token
    url = f"/reports/stores/{code}/{month}.pdf"
    first = client.get(url)
    assert first.status_code == 200, first.status_code
    pages = _pages(app, code, month)
    times, cpu = [], []
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        assert client.get(url).status_code == 200
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    # CPU seconds beside the wall-clock ones: on a shared machine the wall clock also counts
    # the time other processes had the cores
    print(f"store {code} {month}: {len(first.data) // 1024} KB, runs {[round(t, 2) for t in times]}"
          f", cpu {statistics.median(cpu):.2f} s, load {os.getloadavg()[0]:.1f}")
    print(f"bench store-report-pdf: pages={pages} seconds={statistics.median(times):.2f}")

    from app import reports
    from app.db import new_session
    from app.models import ReportBatch

    region_id = _big_region(app, today.replace(day=1) - timedelta(days=3))
    with app.app_context():
        with new_session() as session:
            batch = ReportBatch(region_id=region_id, month=month, total=REGION_STORES)
            session.add(batch)
            session.commit()
            batch_id = batch.id
        started, started_cpu = time.perf_counter(), time.process_time()
        reports.build_batch(batch_id)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - started_cpu
        with new_session() as session:
            done = session.get(ReportBatch, batch_id)
            assert done.status == "done", done.status
    print(f"region batch: cpu {cpu_seconds:.1f} s, load {os.getloadavg()[0]:.1f}")
    print(f"bench region-report-batch: stores={done.done} seconds={seconds:.1f}")
