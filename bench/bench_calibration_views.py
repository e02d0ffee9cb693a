"""The stored calibration at network scale: the background job, and what views read.

Seeds a SQLite database with 2,000 stores in 20 regions, 200 shoppers (10 living in each
region) and one month of approved sales mystery shops, 6 per store (12,000 visits, each
scored on every sales touchpoint; score = 80 + store + shopper + noise), written in bulk. Then:

- the job `calibrate("sales", month)` end to end: one query reads the visits, every touchpoint
  and the overall score are fitted, the fit is stored in one transaction;
- the reads a page makes of the stored fit (`app.calibration.queries`), each timed 30 times
  at network scope: the fit and its freshness, a league page (100 stores), the board's weakest
  stores and best quartiles, the heat map's 60 weakest stores and their cells.

Lines: `bench calibration-job: visits=<n> measures=<m> seconds=<s>` and `bench
calibration-views: stores=<n> league_ms=<p95> board_ms=<p95> heatmap_ms=<p95>` (the calibrated
part of each view, on top of the page's other queries).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

STORES, REGIONS, SHOPPERS_PER_REGION, VISITS = 2000, 20, 10, 6
RUNS = 30
ROOT = Path(__file__).resolve().parent.parent
MONTH = date(2025, 5, 1)


def _seed(app) -> None:
    from sqlalchemy import insert, select

    from app.db import new_session
    from app.instruments import active_versions
    from app.migrate import upgrade
    from app.models import Region, Response, Store, Touchpoint, TouchpointScore, User
    from tests.factories import load_shipped

    upgrade(app.extensions["engine"])
    rng = np.random.default_rng(13)
    with new_session() as session:
        load_shipped(session)
        session.commit()
        version = next(v for v in active_versions(session, "mystery_shop") if v.stage == "sales")
        tps = list(session.exec(select(Touchpoint.id).where(Touchpoint.stage == "sales"))
                   .scalars())
        connection = session.connection()
        connection.execute(insert(Region), [{"id": r + 1, "code": f"r{r}", "name": f"区{r}"}
                                            for r in range(REGIONS)])
        connection.execute(insert(Store), [
            {"id": s + 1, "code": f"S{s:04d}", "name": f"门店{s}", "region_id": s % REGIONS + 1}
            for s in range(STORES)])
        shoppers = REGIONS * SHOPPERS_PER_REGION
        connection.execute(insert(User), [
            {"id": 1000 + p, "username": f"shopper{p}", "password_hash": "x", "role": "shopper"}
            for p in range(shoppers)])
        store_effect = rng.normal(0, 6, STORES)
        shopper_effect = rng.normal(0, 8, shoppers)
        responses, scores = [], []
        for n in range(STORES * VISITS):
            store = n // VISITS
            region = store % REGIONS
            shopper = region * SHOPPERS_PER_REGION + int(rng.integers(SHOPPERS_PER_REGION))
            base = 80 + store_effect[store] + shopper_effect[shopper]
            values = np.clip(base + rng.normal(0, 10, len(tps)), 0, 100)
            day = MONTH + timedelta(days=int(rng.integers(28)))
            responses.append({
                "id": n + 1, "uuid": f"bench-{n}", "instrument_version_id": version.id,
                "kind": "mystery_shop", "stage": "sales", "channel": "shopper",
                "status": "approved", "store_id": store + 1, "region_id": region + 1,
                "shopper_id": 1000 + shopper, "day": day, "overall": float(values.mean()),
                "review_comment": ""})
            scores += [{"response_id": n + 1, "touchpoint_id": tp, "store_id": store + 1,
                        "region_id": region + 1, "day": day, "kind": "mystery_shop",
                        "stage": "sales", "score": float(v), "critical_failed": False,
                        "counted": True} for tp, v in zip(tps, values, strict=True)]
        connection.execute(insert(Response), responses)
        connection.execute(insert(TouchpointScore), scores)
        session.commit()


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def _timed(action) -> float:
    samples = []
    for _ in range(RUNS):
        began = time.perf_counter()
        action()
        samples.append((time.perf_counter() - began) * 1000)
    return _p95(samples)


def run(url: str) -> None:
    from app import create_app
    from app.calibration import compute
    from app.calibration import queries as cq
    from app.db import new_session
    from app.queries_dashboard import Scope

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench",
                      "SURVEYS_DIR": str(ROOT / "surveys"), "CALIBRATION_AUTO": False})
    end = date(2025, 5, 31)
    with app.app_context():
        _seed(app)
        began = time.perf_counter()
        done = compute.calibrate("sales", MONTH.isoformat(), end.isoformat())
        seconds = time.perf_counter() - began
        print(f"bench calibration-job: visits={done['visits']} measures={done['measures']} "
              f"seconds={seconds:.2f}")
        network = Scope("network")
        with new_session() as session:
            fit = cq.find_fit(session, "sales", MONTH, end, today=end)

            def league():
                cq.find_fit(session, "sales", MONTH, end, today=end)
                cq.league_size(session, fit.id, "greeting", network)
                cq.league(session, fit.id, "greeting", network, limit=100)
                cq.components(session, fit.id)

            def board():
                cq.find_fit(session, "sales", MONTH, end, today=end)
                cq.weakest(session, fit.id, network, 3)
                cq.components(session, fit.id)

            def heatmap():
                cq.find_fit(session, "sales", MONTH, end, today=end)
                order, _total = cq.store_order(session, fit.id, network, 60)
                cq.cells(session, fit.id, set(order))

            timings = {name: _timed(action) for name, action in
                       (("league", league), ("board", board), ("heatmap", heatmap))}
    app.extensions["engine"].dispose()
    print(f"bench calibration-views: stores={STORES} league_ms={timings['league']:.1f} "
          f"board_ms={timings['board']:.1f} heatmap_ms={timings['heatmap']:.1f}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as folder:
        run(f"sqlite:///{Path(folder) / 'calibration.db'}")


if __name__ == "__main__":
    main()
