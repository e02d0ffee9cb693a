"""Planning one monthly round of 2 shops per store for a 2,000-store network (imported as in
bench_network_import) with 500 shoppers of 10 visits a month, each at home in one large region:
gathering the inputs from the database and planning, as the admin's preview does.

Prints `bench round-plan: stores=2000 shoppers=<n> seconds=<s>`."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import select

from app import create_app
from app.db import new_session
from app.migrate import upgrade
from app.models import InstrumentVersion, Region, ShopperRegion, User, utcnow
from app.network.importer import import_network
from app.rounds.service import RoundSpec, make_plan
from bench.bench_network_import import network_csv

SHOPPERS, CAPACITY = 500, 10


def main() -> float:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
                          "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade(app.extensions["engine"])
            with new_session() as session:
                assert import_network(session, network_csv(), "stores.csv").ok
                large = list(session.exec(select(Region.id).where(Region.code.like("L%"))))
                session.connection().execute(insert(User.__table__), [
                    {"username": f"s{n}", "display_name": "", "password_hash": "x",
                     "role": "shopper", "email": "", "active": True,
                     "must_change_password": False, "monthly_capacity": CAPACITY,
                     "created_at": utcnow()} for n in range(SHOPPERS)])
                ids = list(session.exec(select(User.id).where(User.role == "shopper")))
                rng = random.Random(1)
                session.add_all(ShopperRegion(user_id=i, region_id=rng.choice(large))
                                for i in ids)
                version = InstrumentVersion(instrument_id="bench", version=1,
                                            kind="mystery_shop", stage="sales", title_zh="b",
                                            title_en="b", content_hash="x", definition="{}")
                session.add(version)
                session.commit()
                spec = RoundSpec("bench", date(2026, 12, 1), date(2026, 12, 31), version.id,
                                 2, 3, 3, {}, 42)
                start = time.perf_counter()
                plan = make_plan(session, spec)
                seconds = time.perf_counter() - start
            app.extensions["engine"].dispose()
    short = sum(s.missing for s in plan.shortfalls)
    print(f"round-plan: {len(plan.visits)} visits planned, {short} short")
    print(f"bench round-plan: stores=2000 shoppers={SHOPPERS} seconds={seconds:.2f}")
    return seconds


if __name__ == "__main__":
    main()
