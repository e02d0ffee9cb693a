"""The shopper's service worker names the files the pages load (their url_for URLs) and its cache
after their content hash, so a deploy that changes a script starts a new cache; the offline page
is the same for everyone."""

import re
import shutil

from app.assets import compute_version


def test_service_worker_precaches_the_pages_files_under_the_assets_hash(client, app):
    body = client.get("/shopper/sw.js")
    assert body.status_code == 200 and body.mimetype == "text/javascript"
    assert body.headers["Cache-Control"] == "no-cache"
    text = body.get_data(as_text=True)
    cache = re.search(r'const CACHE = "(tp-shopper-v2-[0-9a-f]{12})"', text).group(1)
    with app.test_request_context():
        from flask import url_for

        for name in ("js/checklist.js", "js/store.js", "js/show_if.js", "vendor/htmx.min.js", "css/app.css"):
            assert f'"{url_for("static", filename=name)}"' in text
    assert '"/shopper/offline"' in text
    assert cache == f"tp-shopper-v2-{compute_version(app.static_folder)}"


def test_the_cache_name_follows_any_change_to_a_script(tmp_path, app):
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static, ignore=shutil.ignore_patterns("fonts"))
    before = compute_version(static)
    assert compute_version(static) == before
    with open(static / "js" / "checklist.js", "a") as script:
        script.write("\n// changed\n")
    assert compute_version(static) != before


def test_offline_page_is_public_and_explains(client):
    page = client.get("/shopper/offline")
    assert page.status_code == 200
    assert "尚未保存在手机上" in page.get_data(as_text=True)
