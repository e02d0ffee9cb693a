"""Background jobs: one API for work that should not hold up a request (report batches,
notices).

With `REDIS_URL` set, jobs go to an RQ queue on Redis and `make worker` runs them, so any app
process can enqueue and any can look a job up. Without it (`make run`), a job runs in a thread of
the same process, so the embedded default needs no service. Either way a job is named by the
dotted path of a module-level function (`"app.jobs.ping"`), runs inside an app context, and its
return value should be small and JSON-like (a storage key, a count), not a file.
"""

from __future__ import annotations

import importlib
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context

# RQ's states, folded into the four a caller acts on
STATES = {"queued": "queued", "deferred": "queued", "scheduled": "queued", "started": "started",
          "finished": "finished", "failed": "failed", "stopped": "failed", "canceled": "failed"}
RESULT_TTL = 7 * 24 * 3600  # a finished job's result stays readable for a week


@dataclass(frozen=True)
class JobStatus:
    id: str
    state: str  # queued | started | finished | failed | unknown
    result: Any = None
    error: str | None = None


def enqueue(func: str | Callable, *args: Any, **kwargs: Any) -> str:
    """Run `func(*args, **kwargs)` in the background; returns the job id."""
    path = _path_of(func)
    _resolve(path)  # fail now, in the caller, on a misspelt name rather than in the worker
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        return _queue(current_app).enqueue(
            perform, args=(path, *args), kwargs=kwargs, result_ttl=RESULT_TTL, failure_ttl=RESULT_TTL
        ).id
    return current_app.extensions["jobs"].start(path, args, kwargs)


def enqueue_once(key: str, func: str | Callable, *args: Any, ttl: int = 3600) -> str | None:
    """Like `enqueue`, but at most one job per `key` waits at a time (debouncing: a burst of
    approvals asks for one refit); a change made while it runs queues one more. None when
    one was already waiting. On the queue the key is released when the job starts (a key
    left behind by a worker that died expires after `ttl` seconds); in-process, one job per
    key runs at a time and an ask meanwhile runs it once more afterwards."""
    path = _path_of(func)
    _resolve(path)
    if current_app.config.get("REDIS_URL"):
        if not _redis(current_app).set(f"jobs:once:{key}", "1", nx=True, ex=ttl):
            return None
        return _queue(current_app).enqueue(
            perform_once, args=(key, path, *args), result_ttl=RESULT_TTL,
            failure_ttl=RESULT_TTL).id
    return current_app.extensions["jobs"].start(path, args, {}, once=key)


def perform_once(key: str, path: str, *args: Any) -> Any:
    """What the worker runs for `enqueue_once`: release the key, then the job."""
    def run():
        _redis(current_app).delete(f"jobs:once:{key}")
        return perform(path, *args)

    if has_app_context():
        return run()
    with _worker_app().app_context():
        return run()


def status(job_id: str) -> JobStatus:
    if current_app.config.get("REDIS_URL"):
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            job = Job.fetch(job_id, connection=_redis(current_app))
        except NoSuchJobError:
            return JobStatus(job_id, "unknown")
        state = STATES.get(job.get_status(refresh=True) or "", "unknown")
        if state == "failed":
            latest = job.latest_result()
            error = (latest.exc_string if latest else None) or "failed"
            return JobStatus(job_id, state, error=error.strip().splitlines()[-1])
        return JobStatus(job_id, state, result=job.return_value() if state == "finished" else None)
    return current_app.extensions["jobs"].status(job_id)


def perform(path: str, *args: Any, **kwargs: Any) -> Any:
    """What the worker runs: the named function inside an app context."""
    func = _resolve(path)
    if has_app_context():
        return func(*args, **kwargs)
    with _worker_app().app_context():
        return func(*args, **kwargs)


def ping(value: Any = None) -> dict:
    """A job that proves the path end to end: it runs in an app context and reads the database."""
    from sqlmodel import select

    from . import db
    from .models import Store

    with db.new_session() as session:
        stores = len(session.exec(select(Store.id)).all())
    return {"echo": value, "stores": stores}


def fail(message: str) -> None:
    """A job that fails, so a failure's reporting can be seen (and tested)."""
    raise RuntimeError(message)


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """`make worker`: an RQ worker on the app's queue. Each job runs in a forked work horse that
    inherits this process's app context (the engine's pool is still empty here)."""
    from rq import Worker

    if not app.config.get("REDIS_URL"):
        raise RuntimeError("REDIS_URL is not set: without a queue, jobs run inside the app process")
    queue = _queue(app)
    with app.app_context():
        Worker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)


def _path_of(func: str | Callable) -> str:
    if isinstance(func, str):
        return func
    return f"{func.__module__}.{func.__qualname__}"


def _resolve(path: str) -> Callable:
    module, _, name = path.rpartition(".")
    if not module:
        raise ValueError(f"not a dotted path to a function: {path!r}")
    func = getattr(importlib.import_module(module), name, None)
    if not callable(func):
        raise ValueError(f"no function {path!r}")
    return func


def _redis(app: Flask):
    from redis import Redis

    if "redis" not in app.extensions:
        app.extensions["redis"] = Redis.from_url(app.config["REDIS_URL"])
    return app.extensions["redis"]


def _queue(app: Flask):
    from rq import Queue

    return Queue(app.config["JOB_QUEUE"], connection=_redis(app))


_worker_app_lock = threading.Lock()
_worker_apps: list[Flask] = []


def _worker_app() -> Flask:
    """A worker started without an app context (e.g. `rq worker`) builds the app once."""
    with _worker_app_lock:
        if not _worker_apps:
            from . import create_app

            _worker_apps.append(create_app())
        return _worker_apps[0]


class _InProcess:
    """Jobs as threads of this process, with their status kept in memory (one process only)."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = threading.Lock()
        self.jobs: dict[str, JobStatus] = {}
        # `enqueue_once` keys: "running", or "again" when asked once more meanwhile (then run
        # once more after it, never two at a time: a thread per ask would fit side by side)
        self.once: dict[str, str] = {}

    def start(self, path: str, args: tuple, kwargs: dict, once: str | None = None
              ) -> str | None:
        job_id = str(uuid.uuid4())
        with self.lock:
            if once is not None:
                if once in self.once:
                    self.once[once] = "again"
                    return None
                self.once[once] = "running"
            self.jobs[job_id] = JobStatus(job_id, "queued")
        threading.Thread(target=self._run, args=(job_id, path, args, kwargs, once),
                         daemon=True, name=f"job-{job_id}").start()
        return job_id

    def _run(self, job_id: str, path: str, args: tuple, kwargs: dict,
             once: str | None = None) -> None:
        while True:
            self._perform(job_id, path, args, kwargs)
            if once is None:
                return
            with self.lock:
                if self.once.get(once) != "again":
                    self.once.pop(once, None)
                    return
                self.once[once] = "running"
                job_id = str(uuid.uuid4())
                self.jobs[job_id] = JobStatus(job_id, "queued")

    def _perform(self, job_id: str, path: str, args: tuple, kwargs: dict) -> None:
        self._set(JobStatus(job_id, "started"))
        with self.app.app_context():
            try:
                result = perform(path, *args, **kwargs)
            except Exception as error:  # noqa: BLE001 - a job's failure is its status, not a crash
                self.app.logger.error("job %s (%s) failed:\n%s", job_id, path, traceback.format_exc())
                self._set(JobStatus(job_id, "failed", error=f"{type(error).__name__}: {error}"))
                return
        self._set(JobStatus(job_id, "finished", result=result))

    def _set(self, job: JobStatus) -> None:
        with self.lock:
            self.jobs[job.id] = job

    def status(self, job_id: str) -> JobStatus:
        with self.lock:
            return self.jobs.get(job_id, JobStatus(job_id, "unknown"))


def init_app(app: Flask) -> None:
    app.extensions["jobs"] = _InProcess(app)
