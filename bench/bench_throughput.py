"""Submissions per second through the real write path, served by gunicorn against PostgreSQL.

Customers: public survey answers (POST /s/<code>) with fresh single-use codes; each goes through
validation, scoring, answers, per-response scores, the summary rows, the atomic claim of the
code and case opening. Shoppers: final submissions of the 72-item sales checklist
(POST /shopper/a/<id>) with the photo evidence it requires. A bounded load (BENCH_SECONDS,
default 30, per kind) from BENCH_CLIENTS threads (default 2 x workers) on loopback; gunicorn
runs as `make serve` runs it (gunicorn.conf.py: gthread workers) with BENCH_WORKERS processes
(default 2: the machine's cores) on a free port, started and stopped here. Afterwards every
stored answer is counted and the summaries are verified.

Needs TEST_DATABASE_URL (PostgreSQL; that database is reset). Lines:
`bench submit-throughput: per_s=<n> p50_ms=<a> p99_ms=<b> db=postgresql server=gunicorn workers=<w>`
`bench submit-shopper: per_s=<n> p50_ms=<a> p99_ms=<b> db=postgresql server=gunicorn workers=<w> items=72`
"""

from __future__ import annotations

import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"
SECRET_KEY = "bench-secret-key-" + "k" * 32  # codes are signed with it: the server's too
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Client:
    """One keep-cookies HTTP client (one thread)."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(self, method: str, path: str, form: dict | None = None,
             accept: str = "text/html") -> tuple[int, str]:
        headers = {"Accept": accept}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body, headers)
            reply = self.conn.getresponse()
            data = reply.read().decode("utf-8", "replace")
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()
            raise
        for cookie in reply.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        if (reply.getheader("Connection") or "").lower() == "close":
            self.conn.close()
        return reply.status, data

    def csrf(self, path: str) -> str:
        status, page = self.send("GET", path)
        match = CSRF.search(page)
        assert status == 200 and match, (path, status)
        return match.group(1) or match.group(2)


def _setup(app, seconds: float, clients: int) -> dict:
    from sqlmodel import select

    from app.auth import hash_password
    from app.db import new_session
    from app.demo import generate_answers
    from app.instruments import active_versions, definition
    from app.migrate import upgrade
    from app.models import Assignment, Photo, Region, Store, User
    from app.public_survey import batch_codes, create_batch
    from tests.factories import load_shipped

    rng = random.Random(7)
    with app.app_context():
        upgrade(app.extensions["engine"])
        with new_session() as session:
            load_shipped(session)
            regions = [Region(code=f"r{i:02d}", name=f"区域{i:02d}") for i in range(20)]
            session.add_all(regions)
            session.flush()
            stores = [Store(code=f"S{i:04d}", name=f"门店{i:04d}", region_id=regions[i % 20].id)
                      for i in range(200)]
            session.add_all(stores)
            hashed = hash_password(PASSWORD)
            shoppers = [User(username=f"shopper{i}", role="shopper", password_hash=hashed)
                        for i in range(clients)]
            session.add_all(shoppers)
            session.flush()
            versions = {(v.kind, v.stage): v for v in active_versions(session)}
            survey, shop = versions[("customer_survey", "sales")], versions[("mystery_shop", "sales")]
            codes = []
            per_store = max(1, int(seconds * 800) // len(stores))
            for store in stores:
                batch = create_batch(session, store=store, instrument_id=survey.instrument_id,
                                     references=[""] * per_store, label="bench", user_id=None,
                                     days=30)
                codes += [token for _row, token in batch_codes(session, batch)]
            rng.shuffle(codes)
            per_shopper = int(seconds * 250 / clients) + 10
            work = {}
            for n, shopper in enumerate(shoppers):
                sha = f"{n:064x}"
                session.add(Photo(sha256=sha, mime="image/jpeg", size=1, width=1, height=1,
                                  uploaded_by=shopper.id))
                rows = [Assignment(instrument_version_id=shop.id, store_id=stores[i % 200].id,
                                   shopper_id=shopper.id, window_start=date.today(),
                                   window_end=date.today() + timedelta(days=3))
                        for i in range(per_shopper)]
                session.add_all(rows)
                session.flush()
                work[shopper.username] = (sha, [a.id for a in rows])
            session.commit()
            survey_forms = [_survey_form(generate_answers(definition(survey), {}, rng))
                            for _ in range(50)]
            checklist = definition(shop)
            photo_items = [i.id for i in checklist.items() if i.evidence == "photo"]
            shop_forms = [_shop_form(generate_answers(checklist, {}, rng)) for _ in range(50)]
            items = len(checklist.items())
            assert session.exec(select(Store)).first() is not None
    return {"codes": codes, "survey_forms": survey_forms, "shop_forms": shop_forms,
            "work": work, "photo_items": photo_items, "items": items}


def _survey_form(answers: dict) -> dict:
    return {f"a-{k}": str(v) for k, v in answers.items()}


def _shop_form(answers: dict) -> dict:
    return {f"item_{k}": str(v) for k, v in answers.items()}


def _redis_url() -> str:
    """Production keeps its rate limits in Redis (README, "Production"): BENCH_REDIS_URL, else
    TEST_REDIS_URL's server in a database of the bench's own; empty (the limits in each
    process's memory) when neither is set."""
    given = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL") or ""
    if given and "BENCH_REDIS_URL" not in os.environ:
        given = given.rsplit("/", 1)[0] + "/13" if given.count("/") > 2 else given + "/13"
    return given


def _serve(url: str, workers: int):
    """The production server as `make serve` starts it (gunicorn.conf.py, app.wsgi), on a free
    port; per-address limits raised since the whole load comes from 127.0.0.1."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET_KEY, BIND=f"127.0.0.1:{port}",
               WEB_CONCURRENCY=str(workers), QR_RATE_LIMIT="1000000 per minute",
               LOGIN_RATE_LIMIT="1000000 per minute", REDIS_URL=_redis_url())
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # (its access log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if _Client(port).send("GET", "/login")[0] == 200:
                return server, port
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 90 s")


def _load(clients: int, seconds: float, worker) -> tuple[list[float], int, float]:
    """Run `worker(index, start, samples, errors)` in threads; each prepares (logs in), then
    calls `start()`, which waits for all and returns the shared time to stop at.
    (latencies in ms, errors, seconds the load ran)."""
    samples: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    window = {}

    def begin():
        window["start"] = time.monotonic()
        window["stop"] = window["start"] + seconds

    barrier = threading.Barrier(clients, action=begin)

    def start() -> float:
        barrier.wait(timeout=300)
        return window["stop"]

    threads = [threading.Thread(target=worker, args=(i, start, samples[i], errors))
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ran = time.monotonic() - window.get("start", time.monotonic())
    return [s for group in samples for s in group], sum(errors), max(ran, 1e-9)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class _CpuMeter:
    """CPU seconds of the gunicorn workers, this database's PostgreSQL backends and this
    process (the load generator) over a stretch of load (Linux /proc; zeros elsewhere)."""

    def __init__(self, app, server_pid: int):
        self.app, self.server_pid = app, server_pid

    def _backends(self) -> list[int]:
        from sqlalchemy import text

        with self.app.extensions["engine"].connect() as connection:
            return list(connection.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalars())

    def read(self) -> tuple[dict, dict, float]:
        workers = {pid: _cpu_seconds(pid) for pid in _children(self.server_pid)}
        backends = {pid: _cpu_seconds(pid) for pid in self._backends()}
        return workers, backends, time.process_time()

    def __enter__(self):
        self.start = self.read()
        return self

    def __exit__(self, *_exc):
        end = self.read()
        # processes that started meanwhile count from zero; those that ended are not counted
        self.spent = [sum(v - self.start[i].get(pid, 0.0) for pid, v in end[i].items())
                      for i in (0, 1)] + [end[2] - self.start[2]]

    def line(self, name: str, count: int) -> str:
        each = [f"{1000 * s / max(count, 1):.2f}" for s in self.spent]
        return (f"{name}: cpu_ms_per_request server={each[0]} postgresql={each[1]} "
                f"load_generator={each[2]}")


def _line(name: str, samples: list[float], seconds: float, workers: int, extra: str = "") -> str:
    ordered = sorted(samples) or [0.0]
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (f"bench {name}: per_s={len(samples) / seconds:.0f} p50_ms={statistics.median(ordered):.0f} "
            f"p99_ms={p99:.0f} db=postgresql server=gunicorn workers={workers}{extra}")


def main() -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        print("submit-throughput: skipped, it needs PostgreSQL (set TEST_DATABASE_URL)")
        return
    from bench.bench_rankings import _reset_postgres

    seconds = float(os.environ.get("BENCH_SECONDS", "30"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    clients = int(os.environ.get("BENCH_CLIENTS", str(2 * workers)))
    if url.startswith("sqlite:///"):  # a smoke run of the load generator itself
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        _reset_postgres(url)
    from app import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY,
                      "SURVEYS_DIR": str(ROOT / "surveys")})
    started = time.perf_counter()
    data = _setup(app, seconds, clients)
    print(f"submit-throughput: {len(data['codes'])} single-use codes, "
          f"{sum(len(a) for _s, a in data['work'].values())} assignments ready in "
          f"{time.perf_counter() - started:.1f} s")
    server, port = _serve(url, workers)
    try:
        codes, lock = iter(data["codes"]), threading.Lock()

        def customer(index, start, samples, errors):
            client = _Client(port)
            with lock:
                first = next(codes)
            token = client.csrf(f"/s/{first}")
            rng = random.Random(index)
            stop_at = start()
            while time.monotonic() < stop_at:
                with lock:
                    code = next(codes, None)
                if code is None:
                    return
                form = dict(rng.choice(data["survey_forms"]), csrf_token=token,
                            uuid=str(uuid.uuid4()))
                begin = time.perf_counter()
                try:
                    status, _page = client.send("POST", f"/s/{code}", form)
                except OSError:
                    status = 0
                if status == 303:
                    samples.append((time.perf_counter() - begin) * 1000)
                else:
                    errors[index] += 1

        with _CpuMeter(app, server.pid) as meter:
            survey_ms, survey_errors, ran = _load(clients, seconds, customer)
        print(meter.line("submit-throughput", len(survey_ms))
              + f" limits={'redis' if _redis_url() else 'memory'}")
        print(_line("submit-throughput", survey_ms, ran, workers))

        def shopper(index, start, samples, errors):
            client = _Client(port)
            token = client.csrf("/login")
            status, _ = client.send("POST", "/login", {"username": f"shopper{index}",
                                                      "password": PASSWORD, "csrf_token": token})
            assert status == 302, status
            token = client.csrf("/shopper/")
            sha, assignments = data["work"][f"shopper{index}"]
            evidence = {f"evidence_{item}": sha for item in data["photo_items"]}
            rng = random.Random(index)
            stop_at = start()
            for assignment_id in assignments:
                if time.monotonic() >= stop_at:
                    return
                form = dict(rng.choice(data["shop_forms"]), **evidence, csrf_token=token,
                            uuid=str(uuid.uuid4()), visit_start="10:00", visit_end="10:40")
                begin = time.perf_counter()
                try:
                    status, _page = client.send("POST", f"/shopper/a/{assignment_id}", form,
                                                accept="application/json")
                except OSError:
                    status = 0
                if status == 200:
                    samples.append((time.perf_counter() - begin) * 1000)
                else:
                    errors[index] += 1

        with _CpuMeter(app, server.pid) as meter:
            shop_ms, shop_errors, shop_ran = _load(clients, seconds, shopper)
        print(meter.line("submit-shopper", len(shop_ms)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    _check(app, len(survey_ms), len(shop_ms))
    if survey_errors or shop_errors:
        print(f"submit-throughput: {survey_errors} survey and {shop_errors} shopper requests failed")
    print(_line("submit-shopper", shop_ms, shop_ran, workers, f" items={data['items']}"))
    app.extensions["engine"].dispose()


def _check(app, surveys: int, shops: int) -> None:
    """Nothing lost, nothing doubled, summaries exact."""
    from sqlmodel import func, select

    from app import summaries
    from app.db import new_session
    from app.models import Response

    with app.app_context(), new_session() as session:
        stored = dict(session.exec(select(Response.kind, func.count()).group_by(Response.kind)).all())
        differences = summaries.verify(session)
    print(f"submit-throughput: stored {stored.get('customer_survey', 0)} surveys "
          f"({surveys} answered 303) and {stored.get('mystery_shop', 0)} reports ({shops} answered "
          f"200); summaries {'ok' if not differences else f'{len(differences)} rows differ'}")


if __name__ == "__main__":
    main()
