"""Backups of the database and the evidence photos into one folder.

SQLite: SQLite's online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot
while the app keeps serving; a file copy of a WAL database could catch it mid-write.
PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore` (see SECURITY.md).
Photos: the storage folder's `photos/` is copied beside the database (content-addressed files:
a file that is already there is the same photo and is skipped).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

SQLITE_FILE = "touchpoint.db"
PG_FILE = "touchpoint.pgdump"


class BackupError(RuntimeError):
    """The backup could not be made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    database: Path
    photos: int


def backup(database_url: str, storage_dir: str | Path, dest: str | Path) -> BackupResult:
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = _sqlite(url.database, dest / SQLITE_FILE)
    elif url.get_backend_name() == "postgresql":
        database = _postgres(url, dest / PG_FILE)
    else:
        raise BackupError(f"no backup method for {url.get_backend_name()} databases")
    return BackupResult(database, _photos(Path(storage_dir) / "photos", dest / "photos"))


def _sqlite(path: str | None, target: Path) -> Path:
    if not path or path == ":memory:" or not Path(path).exists():
        raise BackupError(f"SQLite database {path!r} does not exist")
    partial = target.with_suffix(".part")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    copy = sqlite3.connect(partial)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()
    partial.replace(target)  # a finished backup or none, never half of one
    return target


def _postgres(url, target: Path) -> Path:
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    partial = target.with_suffix(".part")
    done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial),
                           "--dbname", libpq], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    partial.replace(target)
    return target


def _photos(source: Path, target: Path) -> int:
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return 0
    copied = 0
    for path in source.iterdir():
        if path.is_file() and not path.name.endswith(".part"):
            if not (target / path.name).exists():
                shutil.copy2(path, target / path.name)
            copied += 1
    return copied
