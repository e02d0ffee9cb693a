"""The version of the front-end files, as a hash of their contents: the shopper's service worker
names its cache after it, so a deploy that changes a script or a stylesheet starts a new cache
and never serves the old files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, current_app

# What the phone keeps for offline use; fonts are for PDFs only and never reach the phone.
CACHED_FOLDERS = ("js", "css", "vendor")


def compute_version(static_folder: str | Path) -> str:
    digest = hashlib.sha256()
    root = Path(static_folder)
    for folder in CACHED_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def asset_version() -> str:
    """Computed once per process (a deploy restarts the processes)."""
    app = current_app._get_current_object()
    version = app.extensions.get("asset_version")
    if version is None:
        version = app.extensions["asset_version"] = compute_version(app.static_folder)
    return version


def cache_name() -> str:
    return f"tp-shopper-v2-{asset_version()}"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["offline_cache_name"] = cache_name
