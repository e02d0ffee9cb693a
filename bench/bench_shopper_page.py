"""Weight of the shopper's checklist page on a phone: the largest shipped mystery shop, HTML
plus every script and stylesheet it loads, gzip-compressed as a server would send them."""

from __future__ import annotations

import gzip
import re
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import select


def main() -> None:
    from app import create_app
    from app.db import new_session
    from app.migrate import upgrade
    from app.models import Assignment, InstrumentVersion, Store, User
    from tests.factories import PASSWORD, load_shipped, make_network

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
                          "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
        with app.app_context():
            upgrade(app.extensions["engine"])
            with new_session() as session:
                load_shipped(session)
                make_network(session)
                versions = session.exec(select(InstrumentVersion).where(
                    InstrumentVersion.kind == "mystery_shop")).all()
                from app.instruments import definition

                largest = max(versions, key=lambda v: len(definition(v).items()))
                shopper = session.exec(select(User).where(User.username == "shopper")).one()
                store = session.exec(select(Store)).first()
                assignment = Assignment(instrument_version_id=largest.id, store_id=store.id,
                                        shopper_id=shopper.id, window_start=date.today(),
                                        window_end=date.today() + timedelta(days=3))
                session.add(assignment)
                session.commit()
                items = len(definition(largest).items())
                assignment_id = assignment.id
        client = app.test_client()
        client.post("/login", data={"username": "shopper", "password": PASSWORD})
        started = time.perf_counter()
        page = client.get(f"/shopper/a/{assignment_id}")
        render_ms = (time.perf_counter() - started) * 1000
        html = page.data
        assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', html)
        total = len(gzip.compress(html, 6))
        for asset in assets:
            total += len(gzip.compress(client.get(asset.decode()).data, 6))
        print(f"shopper checklist: {items} items, html={len(html)} bytes raw, "
              f"render_ms={render_ms:.0f}")
        print(f"bench shopper-page: bytes={total} requests={1 + len(assets)}")


if __name__ == "__main__":
    main()
