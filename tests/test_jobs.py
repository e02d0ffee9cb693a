"""Background jobs: in-process without a queue (make run), on RQ + Redis with a real worker
process (make worker) when REDIS_URL is set. The same API either way."""

from __future__ import annotations

import time
import uuid

import pytest

from app import create_app, jobs
from tests.conftest import SURVEYS
from tests.services import Process, app_env, flask_command, redis_or_skip


def wait_done(app, job_id: str, timeout: float = 30) -> jobs.JobStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            job = jobs.status(job_id)
        if job.state in ("finished", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job.state} after {timeout} s")


def test_without_a_queue_a_job_runs_in_the_app_process_and_reads_the_database(app):
    with app.app_context():
        job_id = jobs.enqueue("app.jobs.ping", "hello")
    job = wait_done(app, job_id)
    assert job.state == "finished"
    assert job.result == {"echo": "hello", "stores": 4}


def test_a_failing_job_reports_its_error_and_the_app_carries_on(app):
    with app.app_context():
        failed = jobs.enqueue(jobs.fail, "the printer is on fire")
        fine = jobs.enqueue(jobs.ping)
    job = wait_done(app, failed)
    assert job.state == "failed"
    assert "the printer is on fire" in job.error
    assert wait_done(app, fine).state == "finished"


def test_a_misspelt_job_is_refused_when_enqueued_and_an_unknown_id_is_unknown(app):
    with app.app_context():
        with pytest.raises(ValueError, match="app.jobs.nothing"):
            jobs.enqueue("app.jobs.nothing")
        assert jobs.status("no-such-job").state == "unknown"


@pytest.mark.server
def test_with_redis_jobs_wait_in_the_queue_until_a_worker_process_runs_them(app, database_url,
                                                                          tmp_path):
    redis_url = redis_or_skip()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    web = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "JOB_QUEUE": queue,
                      "SURVEYS_DIR": str(SURVEYS), "SECRET_KEY": "test"})
    with web.app_context():
        ok = jobs.enqueue("app.jobs.ping", {"batch": 7})
        bad = jobs.enqueue("app.jobs.fail", "no such store")
    time.sleep(0.5)
    with web.app_context():  # no worker yet: nothing ran inside the web process
        assert jobs.status(ok).state == "queued"

    worker = Process(flask_command("jobs", "worker"),
                     app_env(database_url, REDIS_URL=redis_url, JOB_QUEUE=queue),
                     tmp_path / "worker.log")
    try:
        done = wait_done(web, ok)
        assert done.state == "finished", worker.output()
        assert done.result == {"echo": {"batch": 7}, "stores": 4}  # the worker read our database
        failed = wait_done(web, bad)
        assert failed.state == "failed"
        assert "no such store" in failed.error
    finally:
        worker.stop()
    web.extensions["engine"].dispose()


def test_the_worker_command_says_it_needs_redis(runner):
    result = runner.invoke(args=["jobs", "worker"])
    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.output
