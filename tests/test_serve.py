"""`make serve` refuses to run without a real secret, and serves the app with gunicorn."""

from __future__ import annotations

import subprocess

import pytest
import requests

from app.config import InsecureSecret, require_production_secret
from tests.services import BIN, ROOT, Gunicorn, app_env


@pytest.mark.parametrize("key", [None, "", "dev-only-change-me", "x" * 31])
def test_a_missing_or_short_secret_is_refused_by_name(key):
    with pytest.raises(InsecureSecret, match="SECRET_KEY .*at least 32 characters"):
        require_production_secret({} if key is None else {"SECRET_KEY": key})


def test_a_long_random_secret_is_accepted():
    require_production_secret({"SECRET_KEY": "k" * 32})


@pytest.mark.parametrize("key", [None, "too-short"])
def test_make_serve_stops_before_anything_runs_and_says_why(key, tmp_path):
    env = app_env(f"sqlite:///{tmp_path / 'never.db'}")
    env.pop("SECRET_KEY")
    if key:
        env["SECRET_KEY"] = key
    result = subprocess.run(["make", "-s", "serve"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode != 0
    assert "make serve: SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / "never.db").exists()  # not even migrated


def test_gunicorn_itself_refuses_a_short_secret(tmp_path):
    env = app_env(f"sqlite:///{tmp_path / 'db.sqlite'}", SECRET_KEY="short", BIND="127.0.0.1:0")
    result = subprocess.run([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app.wsgi:app"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.server
def test_gunicorn_serves_the_app_from_the_database(app, database_url, tmp_path):
    server = Gunicorn(app_env(database_url), tmp_path / "gunicorn.log", workers=2, threads=2)
    try:
        page = requests.get(f"{server.url}/login", timeout=60)
        assert page.status_code == 200
        assert 'name="csrf_token"' in page.text
        assert len(server.worker_pids()) == 2
    finally:
        server.stop()
