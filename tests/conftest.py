"""Fixtures: an app on a fresh, migrated database (SQLite always; PostgreSQL too when
TEST_DATABASE_URL is set), a client, the CLI runner and a login helper."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from app import create_app
from app.db import new_session
from app.migrate import upgrade

# Hypothesis' per-example deadline is a timed assertion: on a busy CI machine it fails tests
# whose behaviour is right. Speed is measured in bench/, never asserted here.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

ROOT = Path(__file__).resolve().parent.parent
SURVEYS = ROOT / "surveys"
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
PASSWORD = "correct horse battery"

# Seven test runs share two cores: a slow example is not a failure (no timed assertions), nor
# is slow input generation.
settings.register_profile("shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        # a connection an earlier test left open must not block the reset (it would wait forever)
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "postgresql":
        _reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def bare_app(database_url, tmp_path):
    """An app on a migrated, empty database (no Redis, photos in a folder of its own)."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test",
                      "SURVEYS_DIR": str(SURVEYS), "LOGIN_RATE_LIMIT": "100000 per minute",
                      "REDIS_URL": "", "RATELIMIT_STORAGE_URI": "memory://", "STORAGE_URL": "",
                      "STORAGE_DIR": str(tmp_path / "storage"),
                      # calibration fits run when a test asks (tests/test_calibration_app.py),
                      # not in threads racing the assertions of every test that approves a shop
                      "CALIBRATION_AUTO": False})
    with app.app_context():
        upgrade(app.extensions["engine"])
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture
def app(bare_app):
    """Migrated, shipped instruments loaded, a small network and one user per role."""
    from tests.factories import load_shipped, make_network

    with bare_app.app_context(), new_session() as session:
        load_shipped(session)
        make_network(session)
        session.commit()
    return bare_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(bare_app):
    return bare_app.test_cli_runner()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username: str, password: str = PASSWORD):
        page = self.client.get("/login")
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def as_role(self, role: str):
        response = self.login(role)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture
def auth(client):
    return Auth(client)
