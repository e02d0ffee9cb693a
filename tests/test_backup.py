"""Backup and restore of the database and the photos: SQLite through the online backup API,
PostgreSQL through pg_dump / pg_restore (the steps SECURITY.md gives an operator)."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.db import new_session
from app.instruments import active_versions
from app.models import Photo, Response, Store
from app.photos import store_photo
from app.responses import create_scored_response
from tests.conftest import PG_URL


def _some_data(app) -> str:
    """One customer answer and one stored photo; the photo's hash."""
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(image, "JPEG")
    with app.app_context(), new_session() as session:
        version = next(v for v in active_versions(session) if v.kind == "customer_survey")
        store = session.exec(select(Store).order_by(Store.id)).scalars().first()
        create_scored_response(session, version=version, store=store,
                               raw_answers={"overall_satisfaction": 4}, channel="qr",
                               status="submitted", day=date.today())
        photo = store_photo(session, data=image.getvalue(), storage=app.extensions["storage"],
                            max_bytes=10**6, uploaded_by=None)
        session.commit()
    return photo.sha256


def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return (connection.execute(select(func.count()).select_from(Response)).scalar_one(),
                    connection.execute(select(func.count()).select_from(Photo)).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def storage_app(app):
    """The app with its photos in a folder (conftest: STORAGE_DIR under tmp_path)."""
    assert not app.config.get("STORAGE_URL")
    return app


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY  # the SQLite online backup; the pg_dump one is tested below
def test_sqlite_backup_restores_the_answers_and_the_photos(storage_app, tmp_path):
    app = storage_app
    sha = _some_data(app)
    dest = tmp_path / "backup"
    with app.app_context():  # the app's engine stays open: an online backup
        app.extensions["engine"].connect().close()
        result = app.test_cli_runner().invoke(args=["backup", str(dest)])
    assert result.exit_code == 0, result.output
    assert "photos: 2 file(s)" in result.output  # the photo and its thumbnail

    # restore: the backup file is the database, the backup folder the storage
    restored = create_app({"TESTING": True, "SECRET_KEY": "test",
                           "DATABASE_URL": f"sqlite:///{dest / 'touchpoint.db'}",
                           "STORAGE_DIR": str(dest)})
    try:
        assert _counts(restored.config["DATABASE_URL"]) == (1, 1)
        assert (dest / "photos" / sha).read_bytes() == (
            Path(app.config["STORAGE_DIR"]) / "photos" / sha).read_bytes()
    finally:
        restored.extensions["engine"].dispose()


@SQLITE_ONLY
def test_backup_into_a_folder_twice_is_safe(storage_app, tmp_path):
    app = storage_app
    _some_data(app)
    runner = app.test_cli_runner()
    for _ in range(2):
        assert runner.invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    assert sorted(p.suffix for p in (tmp_path / "b").iterdir()) == ["", ".db"]


def test_a_missing_database_is_a_message_not_a_traceback(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'missing.db'}"})
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")])
    app.extensions["engine"].dispose()
    assert result.exit_code == 1 and "backup failed" in result.output


PG_TOOLS = shutil.which("pg_dump") and shutil.which("pg_restore")


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set: no PostgreSQL to dump")
@pytest.mark.skipif(not PG_TOOLS, reason="pg_dump/pg_restore are not installed")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_dump_restores_into_another_database(storage_app, tmp_path):
    app = storage_app
    _some_data(app)
    dest = tmp_path / "backup"
    result = app.test_cli_runner().invoke(args=["backup", str(dest)])
    assert result.exit_code == 0, result.output
    dump = dest / "touchpoint.pgdump"

    url = make_url(PG_URL)
    copy_name = f"{url.database}_restore"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{copy_name}"'))
        connection.execute(text(f'CREATE DATABASE "{copy_name}"'))
    copy_url = url.set(database=copy_name)
    try:
        libpq = copy_url.set(drivername="postgresql").render_as_string(hide_password=False)
        done = subprocess.run(["pg_restore", "--no-owner", "--dbname", libpq, str(dump)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert _counts(copy_url.render_as_string(hide_password=False)) == (1, 1)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)'))
        admin.dispose()
