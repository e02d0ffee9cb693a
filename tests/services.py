"""Real service processes for the production-stack tests: gunicorn serving the app, the RQ
worker, an S3-compatible server (moto). Each takes a port the OS chose; none outlives its test."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("TEST_REDIS_URL")
SECRET = "test-secret-key-that-is-long-enough-for-production"


def redis_or_skip() -> str:
    """TEST_REDIS_URL, flushed; the test is skipped (saying why) when Redis is absent."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15): Redis tests skipped")
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    try:
        Redis.from_url(REDIS_URL).flushdb()
    except RedisDown:
        pytest.skip(f"Redis at TEST_REDIS_URL={REDIS_URL} is not answering")
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 30, what: str = "service") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


class Process:
    """A child process whose output goes to a log file (read back to find its port or errors)."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """Kill the whole process group (gunicorn's workers included)."""
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # orphans of a killed master, if any
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._out.close()


def app_env(database_url: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY=SECRET, PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


class Gunicorn(Process):
    """`make serve`'s server: gunicorn with the project's gunicorn.conf.py, on a port of its own."""

    def __init__(self, env: dict, log: Path, *, workers: int = 1, threads: int = 2):
        env = env | {"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads),
                     "BIND": "127.0.0.1:0"}
        super().__init__([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app.wsgi:app"], env, log)
        self.port = self._wait_for_port()
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(lambda: len(self.worker_pids()) >= workers, what="gunicorn workers")
        wait_for(self._answers, timeout=120, what="the app in gunicorn")

    def _answers(self) -> bool:
        import requests

        try:
            return requests.get(f"{self.url}/login", timeout=60).status_code == 200
        except requests.ConnectionError:
            return False

    def _wait_for_port(self) -> int:
        found: list[int] = []

        def listening() -> bool:
            if not self.alive():
                raise RuntimeError("gunicorn exited:\n" + self.output()[-3000:])
            match = re.findall(r"Listening at: http://127\.0\.0\.1:(\d+) \((\d+)\)", self.output())
            # the log file is appended to across restarts: the line of this master counts
            mine = [int(port) for port, pid in match if int(pid) == self.proc.pid]
            found.extend(mine[-1:])
            return bool(mine)

        wait_for(listening, what="gunicorn")
        return found[-1]

    def worker_pids(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in children.split()]


def flask_command(*args: str) -> list[str]:
    return [str(BIN / "flask"), "--app", "app", *args]
