"""Weight of the public survey page, for the largest shipped customer survey: every byte the
phone transfers (gzip, as served) and every request it makes, HTML + CSS + script + images.
Budget: at most 20 KB compressed in at most 3 requests. Also the time to render a poster PDF.

Prints `bench survey-page: bytes=<compressed total> requests=<n>` and
`bench poster-pdf: seconds=<s> bytes=<n>`.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent


def _app(folder: Path):
    from app import create_app
    from app.db import new_session
    from app.domain.definitions import check, load_taxonomy
    from app.instruments import load_instrument
    from app.instruments import load_taxonomy as store_taxonomy
    from app.migrate import upgrade
    from app.models import Region, Store

    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "SECRET_KEY": "bench",
                      "SURVEYS_DIR": str(ROOT / "surveys")})
    with app.app_context():
        upgrade(app.extensions["engine"])
        taxonomy = load_taxonomy(ROOT / "surveys" / "touchpoints.yaml")
        problems, instruments = check([ROOT / "surveys"], taxonomy)
        assert not problems, problems
        with new_session() as session:
            store_taxonomy(session, taxonomy)
            for instrument in instruments:
                load_instrument(session, instrument)
            region = Region(code="east", name="华东区")
            session.add(region)
            session.flush()
            session.add(Store(code="SZ02", name="深圳南山星驰4S店", region_id=region.id))
            session.commit()
    largest = max((i for i in instruments if i.kind == "customer_survey"),
                  key=lambda i: len(i.items()))
    return app, largest


def _linked(html: str) -> list[str]:
    """Same-page resources a browser would fetch (stylesheets, scripts, images, icons)."""
    found = re.findall(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="([^"]+)"', html)
    return [url for url in found if not url.startswith(("data:", "#"))]


def main() -> None:
    from sqlmodel import select

    from app import posters, tokens
    from app.db import new_session
    from app.models import InstrumentVersion, Store

    with tempfile.TemporaryDirectory() as folder:
        app, instrument = _app(Path(folder))
        with app.app_context(), new_session() as session:
            store = session.exec(select(Store)).one()
            token = tokens.make(tokens.SurveyCode(store.id, instrument.id, tokens.expiry_after(30)))
        client = app.test_client()
        headers = {"Accept-Encoding": "gzip, deflate, br", "Accept-Language": "zh-CN,zh;q=0.9"}
        page = client.get(f"/s/{token}", headers=headers)
        html = client.get(f"/s/{token}").get_data(as_text=True)
        total, requests = len(page.data), 1
        for url in _linked(html):
            total += len(client.get(url, headers=headers).data)
            requests += 1
        print(f"survey page: {instrument.id} v{instrument.version}, {len(instrument.items())} "
              f"questions, {len(html.encode())} bytes uncompressed, "
              f"encoding={page.headers.get('Content-Encoding', 'none')}")
        print(f"bench survey-page: bytes={total} requests={requests}")

        with app.test_request_context(), new_session() as session:
            version = session.exec(select(InstrumentVersion).where(
                InstrumentVersion.instrument_id == instrument.id)).one()
            store = session.exec(select(Store)).one()
            code = posters.code_for(posters.store_token(store.id, instrument.id))
            timings = []
            for _ in range(3):
                start = time.perf_counter()
                pdf = posters.render_pdf("reports/poster.html", store=store, version=version,
                                         code=code)
                timings.append(time.perf_counter() - start)
        print(f"poster pdf: first {timings[0]:.2f} s (font load), then {min(timings[1:]):.2f} s")
        print(f"bench poster-pdf: seconds={min(timings[1:]):.2f} bytes={len(pdf)}")
        with app.test_request_context():
            batch = SimpleNamespace(label="bench", instrument_id=instrument.id)
            codes = [posters.code_for(token, f"SO-{n:05d}") for n in range(60)]  # 5 pages
            start = time.perf_counter()
            pdf = posters.render_pdf("reports/sheet.html", store=store, batch=batch,
                                     codes=codes, version=version)
            seconds = time.perf_counter() - start
        print(f"bench code-sheet-pdf: pages=5 seconds={seconds:.2f} bytes={len(pdf)}")
        app.extensions["engine"].dispose()


if __name__ == "__main__":
    main()
