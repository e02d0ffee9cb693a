"""Static files behind content-hashed URLs, cached for a year and sent compressed.

`url_for('static', filename=...)` stays the only way templates name a static file; it now adds
`?v=<hash of the content>`. A request carrying the current hash is answered with
`Cache-Control: immutable` for a year: a deploy that changes a file changes its URL, so a browser
never runs a stale script and never asks again for an unchanged one. Without the hash (or with an
old one) the file is sent with `no-cache` and an ETag, so old pages still work. Text files go out
as brotli or gzip, whichever the browser takes, compressed once per process and kept in memory.

Hand-written rather than Flask-Static-Digest or WhiteNoise: both want a build step that writes
renamed and compressed copies into static/, and the hashes would then be one more thing a
deploy could forget to regenerate; here they follow the files by construction.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import brotli
from flask import Flask, Response, abort, current_app, request, send_from_directory, url_for
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
IN_MEMORY_MAX = 2 * 1024 * 1024  # larger files (fonts) are streamed from disk, not compressed
MIN_COMPRESS = 512  # below this the encoding headers cost more than they save


@dataclass(frozen=True)
class Asset:
    digest: str
    mtime_ns: int
    size: int
    mimetype: str
    encodings: dict[str, bytes] | None  # "identity", "br", "gzip" -> body; None: sent from disk


class Assets:
    """Per-process cache of the static folder's hashes (and compressed bodies), refreshed when
    a file's modification time or size changes."""

    def __init__(self, folder: str | Path):
        self.folder = str(folder)
        self.lock = threading.Lock()
        self.cache: dict[str, Asset] = {}

    def get(self, filename: str) -> Asset | None:
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            stat = Path(path).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not Path(path).is_file():
            return None
        cached = self.cache.get(filename)
        if cached and (cached.mtime_ns, cached.size) == (stat.st_mtime_ns, stat.st_size):
            return cached
        with self.lock:
            asset = _load(Path(path), stat.st_mtime_ns, stat.st_size)
            self.cache[filename] = asset
        return asset

    def digest(self, filename: str) -> str | None:
        asset = self.get(filename)
        return asset.digest if asset else None


def _load(path: Path, mtime_ns: int, size: int) -> Asset:
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if size > IN_MEMORY_MAX:
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()[:12]
        return Asset(digest, mtime_ns, size, mimetype, None)
    body = path.read_bytes()
    encodings = {"identity": body}
    if mimetype.startswith(COMPRESSIBLE) and len(body) >= MIN_COMPRESS:
        encodings["br"] = brotli.compress(body, quality=11)
        encodings["gzip"] = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(hashlib.sha256(body).hexdigest()[:12], mtime_ns, size, mimetype, encodings)


def _assets() -> Assets:
    return current_app.extensions["assets"]


def send_static(filename: str) -> Response:
    asset = _assets().get(filename)
    if asset is None:
        abort(404)
    if asset.encodings is None:
        response = send_from_directory(current_app.static_folder, filename, mimetype=asset.mimetype)
    else:
        encoding = _choose(asset.encodings)
        response = current_app.response_class(asset.encodings[encoding], mimetype=asset.mimetype)
        if encoding != "identity":
            response.headers["Content-Encoding"] = encoding
        if len(asset.encodings) > 1:
            response.vary.add("Accept-Encoding")
        response.set_etag(f"{asset.digest}-{encoding}")
        response.make_conditional(request)
    fresh = request.args.get("v") == asset.digest
    response.headers["Cache-Control"] = IMMUTABLE if fresh else REVALIDATE
    return response


def _choose(encodings: dict[str, bytes]) -> str:
    accepted = request.accept_encodings
    for encoding in ("br", "gzip"):
        if encoding in encodings and accepted[encoding] > 0:
            return encoding
    return "identity"


STATIC_LITERAL = re.compile(r'"/static/([^"?#]+)"')
CACHE_NAME = re.compile(r'(const CACHE = ")([^"]+)(")')


def service_worker_source(source: str) -> str:
    """The service worker precaches static files by URL: give it the hashed URLs the pages use,
    and a cache name that changes with them, so a deploy replaces the precached copies."""
    filenames = STATIC_LITERAL.findall(source)
    version = hashlib.sha256("".join(
        _assets().digest(name) or "" for name in sorted(set(filenames))).encode()).hexdigest()[:12]
    source = STATIC_LITERAL.sub(lambda m: f'"{url_for("static", filename=m.group(1))}"', source)
    return CACHE_NAME.sub(lambda m: f"{m.group(1)}{m.group(2)}-{version}{m.group(3)}", source)


def init_app(app: Flask) -> None:
    app.extensions["assets"] = Assets(app.static_folder)
    app.view_functions["static"] = send_static

    @app.url_defaults
    def _content_hash(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = app.extensions["assets"].digest(values["filename"])
            if digest:
                values["v"] = digest
