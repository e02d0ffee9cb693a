"""Static files: content-hashed URLs from url_for, a year of caching for the hashed URL,
brotli or gzip as the browser accepts, and a service worker that precaches the same URLs."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import pytest

from app.static_files import Assets
from tests.conftest import ROOT

STATIC = ROOT / "static"
CSS = STATIC / "css" / "app.css"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def css_url(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'href="(/static/css/app\.css[^"]*)"', page).group(1)


def test_pages_name_static_files_by_their_content_hash(client):
    assert css_url(client) == f"/static/css/app.css?v={digest(CSS)}"


@pytest.mark.parametrize(("accept", "encoding", "decode"), [
    ("gzip, deflate, br", "br", brotli.decompress),
    ("gzip, deflate", "gzip", gzip.decompress),
    ("br;q=0, gzip", "gzip", gzip.decompress),
    ("", None, lambda body: body),
])
def test_a_hashed_url_is_cached_for_a_year_and_sent_compressed(client, accept, encoding, decode):
    reply = client.get(css_url(client), headers={"Accept-Encoding": accept})
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert reply.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in reply.headers["Vary"]
    assert reply.mimetype == "text/css"
    assert decode(reply.data) == CSS.read_bytes()
    if encoding:
        assert len(reply.data) < CSS.stat().st_size / 3


@pytest.mark.parametrize("query", ["", "?v=000000000000"])
def test_without_the_current_hash_the_browser_must_revalidate(client, query):
    reply = client.get(f"/static/css/app.css{query}", headers={"Accept-Encoding": "gzip"})
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-cache"
    again = client.get(f"/static/css/app.css{query}",
                       headers={"Accept-Encoding": "gzip", "If-None-Match": reply.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_changing_a_file_changes_its_url_and_the_old_url_is_not_pinned(app, client, tmp_path):
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "app.css"
    sheet.write_text("body { color: red }\n")
    app.static_folder = str(tmp_path)
    app.extensions["assets"] = Assets(tmp_path)
    first = css_url(client)
    sheet.write_text("body { color: blue; margin: 0 }\n")
    second = css_url(client)
    assert first != second and second.endswith(digest(sheet))
    old = client.get(first)
    assert old.headers["Cache-Control"] == "no-cache"  # an old page gets today's file, briefly
    assert b"blue" in old.data
    assert client.get(second).headers["Cache-Control"].endswith("immutable")


@pytest.mark.parametrize("path", ["/static/../app/config.py", "/static/%2e%2e/app/config.py",
                                  "/static/css", "/static/nothing.css"])
def test_only_files_in_the_static_folder_are_served(client, path):
    assert client.get(path).status_code == 404


def test_the_service_worker_precaches_the_hashed_urls_under_a_cache_named_after_them(client):
    worker = client.get("/shopper/sw.js")
    assert worker.status_code == 200
    assert worker.headers["Cache-Control"] == "no-cache"
    source = worker.get_data(as_text=True)
    precached = re.findall(r'"(/static/[^"]+)"', source)
    assert f"/static/css/app.css?v={digest(CSS)}" in precached
    assert all("?v=" in url for url in precached)
    for url in precached:  # what the worker precaches is what the pages ask for, and exists
        assert client.get(url).headers["Cache-Control"].endswith("immutable"), url
    assert re.search(r'const CACHE = "tp-shopper-v\d+-[0-9a-f]{12}"', source)
