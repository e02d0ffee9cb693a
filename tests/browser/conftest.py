"""Browser tests: the app served on a free local port, Debian's Chromium driven by Playwright
at a phone viewport (390x844, touch). Screenshots go to test-artifacts/<area>/."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.db import new_session
from app.migrate import upgrade

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_app(tmp_path):
    """A fresh app on its own SQLite file, with the shipped instruments and a small network."""
    from tests.factories import load_shipped, make_network

    app = create_app({
        "TESTING": True, "SECRET_KEY": "browser-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}",
        "STORAGE_DIR": str(tmp_path / "storage"), "LOGIN_RATE_LIMIT": "100000 per minute",
        "CALIBRATION_AUTO": False,  # fits are computed when a test asks for them
    })
    with app.app_context():
        upgrade(app.extensions["engine"])
        with new_session() as session:
            app.config["NETWORK"] = make_network(session)
            load_shipped(session)
            session.commit()
    return app


class LiveServer:
    """The app on a local port that can be stopped and started again (a real "no network":
    the browser's offline switch alone does not cover service-worker fetches)."""

    def __init__(self, app):
        self.app = app
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __str__(self) -> str:
        return self.url


@pytest.fixture
def server(live_app):
    live = LiveServer(live_app)
    yield live
    live.stop()
    live_app.extensions["engine"].dispose()


@pytest.fixture
def live_server(server):
    return server.url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page (iPhone 12-ish: 390x844, touch), Chinese locale."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
        has_touch=True, locale="zh-CN",
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("response", lambda r: page.errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    yield page
    context.close()


class Shots:
    """Numbered screenshots of one test, kept for a person to look at."""

    def __init__(self, page, area: str):
        self.page = page
        self.folder = ARTIFACTS / area
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def __call__(self, name: str, full_page: bool = True) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def login(page, base: str, username: str, password: str = "correct horse battery") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
