"""Crash test: gunicorn on PostgreSQL under a bounded load of customer survey answers and
shopper reports, with `kill -9` of the master and of a worker at random moments, restarting the
server as an operator's supervisor would. Clients behave like the phones: a submission that got no
answer is sent again, with the same UUID, until one comes back.

Afterwards every submission the client saw acknowledged is stored exactly once, none twice, with
every answer it sent, and each response's touchpoint score rows equal a fresh scoring of its
stored answers."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
from sqlmodel import select

from app import create_app
from app.db import new_session
from app.domain.scoring import score
from app.instruments import definition
from app.migrate import upgrade
from app.models import Answer, Assignment, FollowUpCase, InstrumentVersion, Response, TouchpointScore
from tests.conftest import PG_URL, SURVEYS, _reset_postgres, csrf_token
from tests.factories import assign_test_checklist, load_shipped, make_network
from tests.services import SECRET, Gunicorn, app_env
from tests.test_public import SURVEY, fields, token_for

PUBLIC_ANSWERS = 30
SHOPPER_REPORTS = 10
CLIENTS = 6
KILLS = ["worker", "master", "worker"]  # at random moments, in this order (each master costs a restart)

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set: the crash test runs on PostgreSQL"),
]


@dataclass
class Submission:
    kind: str  # qr | shop
    uuid: str
    url: str  # path to post to
    form: dict[str, str]
    http: requests.Session
    attempts: int = 0
    acknowledged: bool = False


@dataclass
class Load:
    server: Gunicorn
    pending: list[Submission]
    done: list[Submission] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    deadline: float = field(default_factory=lambda: time.monotonic() + 150)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> Submission | None:
        with self.lock:
            return self.pending.pop(0) if self.pending else None

    def back(self, item: Submission) -> None:
        with self.lock:
            self.pending.append(item)


@pytest.fixture
def crash_app(tmp_path):
    _reset_postgres(PG_URL)
    app = create_app({"DATABASE_URL": PG_URL, "SECRET_KEY": SECRET, "SURVEYS_DIR": str(SURVEYS),
                      "REDIS_URL": "", "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        upgrade(app.extensions["engine"])
        with new_session() as session:
            load_shipped(session)
            make_network(session)
            session.commit()
            first = session.get(Assignment, assign_test_checklist(session))
            more = [Assignment(instrument_version_id=first.instrument_version_id, store_id=first.store_id,
                               shopper_id=first.shopper_id, window_start=first.window_start,
                               window_end=first.window_end) for _ in range(SHOPPER_REPORTS - 1)]
            session.add_all(more)
            session.commit()
            assignment_ids = [first.id, *(a.id for a in more)]
    yield app, assignment_ids
    app.extensions["engine"].dispose()


def survey_answers(rng: random.Random, items) -> dict[str, str]:
    values = {"scale": lambda i: str(rng.randint(int(i.min or 1), int(i.max or 5))),
              "nps": lambda i: str(rng.randint(0, 10)), "yes_no": lambda i: rng.choice(["yes", "no"]),
              "text": lambda i: rng.choice(["", "等了很久", "很好"])}
    return {f"a-{item.id}": values[item.type](item) for item in items}


def shop_answers(rng: random.Random) -> dict[str, str]:
    return {"item_greeted": "yes", "item_card_given": rng.choice(["yes", "no"]),
            "item_drinks": rng.choice(["yes", "no", "na"]), "item_test_drive_offered": "yes",
            "item_licence_checked": rng.choice(["yes", "no"]),
            "item_route_rating": str(rng.randint(1, 5)), "item_remarks": rng.choice(["", "销售很热情"])}


def prepare(app, server: Gunicorn, assignment_ids: list[int], rng: random.Random) -> list[Submission]:
    """Open every page first (as phones do before they lose signal), then submit later."""
    from tests.factories import _shipped

    token = token_for(app)
    items = list(next(i for i in _shipped()[1] if i.id == SURVEY).items())
    submissions = []
    for _ in range(PUBLIC_ANSWERS):
        phone = requests.Session()
        page = phone.get(f"{server.url}/s/{token}", timeout=60)
        assert page.status_code == 200
        form = fields(page.text) | survey_answers(rng, items)
        submissions.append(Submission("qr", form["uuid"], f"/s/{token}", form, phone))

    shopper = requests.Session()
    login = shopper.get(f"{server.url}/login", timeout=60)
    signed_in = shopper.post(f"{server.url}/login", timeout=60, allow_redirects=False, data={
        "username": "shopper", "password": "correct horse battery", "csrf_token": csrf_token(login.text)})
    assert signed_in.status_code == 302
    for assignment_id in assignment_ids:
        page = shopper.get(f"{server.url}/shopper/a/{assignment_id}", timeout=60)
        assert page.status_code == 200
        form = {"csrf_token": csrf_token(page.text), "uuid": str(uuid.uuid4()), **shop_answers(rng)}
        phone = requests.Session()  # the same login, one connection pool per client thread
        phone.cookies.update(shopper.cookies)
        submissions.append(Submission("shop", form["uuid"], f"/shopper/a/{assignment_id}", form, phone))
    rng.shuffle(submissions)
    return submissions


def acknowledged(item: Submission, reply: requests.Response) -> bool:
    if item.kind == "qr":
        return reply.status_code == 303 and f"r={item.uuid}" in reply.headers.get("Location", "")
    return reply.status_code == 200 and reply.json().get("uuid") == item.uuid


def client(load: Load) -> None:
    while (item := load.take()) is not None:
        item.attempts += 1
        headers = {"Accept": "application/json"} if item.kind == "shop" else {}
        try:
            reply = item.http.post(f"{load.server.url}{item.url}", data=item.form, headers=headers,
                                   allow_redirects=False, timeout=20)
        except requests.RequestException:
            reply = None  # no answer: the phone keeps it and tries again
        if reply is not None and acknowledged(item, reply):
            item.acknowledged = True
            with load.lock:
                load.done.append(item)
            continue
        if reply is not None and reply.status_code < 500:
            load.errors.append(f"{item.kind} {item.uuid}: {reply.status_code} {reply.text[:300]}")
            continue
        if time.monotonic() > load.deadline:
            load.errors.append(f"{item.kind} {item.uuid}: gave up after {item.attempts} attempts")
            continue
        time.sleep(0.3)
        load.back(item)


def kill(load: Load, what: str, env: dict, log) -> None:
    server = load.server
    if what == "worker":
        workers = server.worker_pids()
        if workers:
            os.kill(random.choice(workers), signal.SIGKILL)  # the master starts another
        return
    os.kill(server.proc.pid, signal.SIGKILL)
    server.stop()  # the orphaned workers go too, as a supervisor's restart of the group would
    load.server = Gunicorn(env, log, workers=2, threads=2)


def test_acknowledged_submissions_survive_kill_9_exactly_once(crash_app, tmp_path):
    app, assignment_ids = crash_app
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    env = app_env(PG_URL, QR_RATE_LIMIT="100000 per minute", LOGIN_RATE_LIMIT="100000 per minute")
    log = tmp_path / "gunicorn.log"
    load = Load(Gunicorn(env, log, workers=2, threads=2), [])
    try:
        started = time.monotonic()
        load.pending = prepare(app, load.server, assignment_ids, rng)
        print(f"prepared in {time.monotonic() - started:.1f} s")
        sent = {item.uuid: item for item in load.pending}
        clients = [threading.Thread(target=client, args=(load,)) for _ in range(CLIENTS)]
        for thread in clients:
            thread.start()
        for what in KILLS:
            time.sleep(rng.uniform(0.2, 1.2))
            kill(load, what, env, log)
            print(f"killed the {what} at {time.monotonic() - started:.1f} s, {len(load.done)} done")
        for thread in clients:
            thread.join(150)
        print(f"load done at {time.monotonic() - started:.1f} s")
    finally:
        load.server.stop()

    assert not load.errors, f"seed {seed}: {load.errors[:5]}"
    assert len(load.done) == len(sent), f"seed {seed}: not every submission was acknowledged"
    retried = sum(item.attempts > 1 for item in load.done)
    print(f"crash test seed={seed}: {len(sent)} submissions, {retried} retried, kills={KILLS}")

    with app.app_context(), new_session() as session:
        responses = session.exec(select(Response).where(Response.status != "draft")).all()
        uuids = Counter(r.uuid for r in responses)
        assert set(uuids) == set(sent), f"seed {seed}: stored set differs from the sent set"
        assert max(uuids.values()) == 1
        by_id = {r.id: r for r in responses}
        answers: dict[int, dict] = {r.id: {} for r in responses}
        for a in session.exec(select(Answer)).all():
            assert a.item_id not in answers[a.response_id]
            answers[a.response_id][a.item_id] = json.loads(a.value)
        stored_scores: dict[int, dict] = {r.id: {} for r in responses}
        for row in session.exec(select(TouchpointScore)).all():
            assert row.touchpoint_id not in stored_scores[row.response_id]  # no doubled rows
            stored_scores[row.response_id][row.touchpoint_id] = (row.score, row.critical_failed)
        versions = {v.id: v for v in session.exec(select(InstrumentVersion)).all()}
        cases = Counter(c.response_id for c in session.exec(select(FollowUpCase)).all())
        assert not cases or max(cases.values()) == 1

    for response_id, response in by_id.items():
        item = sent[response.uuid]
        answered = {k.removeprefix("a-").removeprefix("item_"): v for k, v in item.form.items()
                    if k.startswith(("a-", "item_")) and v != ""}
        assert set(answers[response_id]) == set(answered), f"seed {seed}: answers of {response.uuid}"
        fresh = score(definition(versions[response.instrument_version_id]), answers[response_id])
        expected = {tp: (value, tp in fresh.critical_failed)
                    for tp, value in fresh.touchpoints.items() if value is not None}
        stored = stored_scores[response_id]
        assert set(stored) == set(expected), f"seed {seed}: {response.uuid}"
        for tp, (value, critical) in expected.items():
            assert stored[tp][0] == pytest.approx(value) and stored[tp][1] == critical, tp
        assert response.overall == pytest.approx(fresh.overall)
