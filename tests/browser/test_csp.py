"""Every page type loads in Chromium with the Content-Security-Policy on and breaks none of
it: no `securitypolicyviolation` event, no CSP message in the console, no script error."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from app.db import new_session
from app.models import FollowUpCase, Response
from tests.browser.conftest import CHROMIUM, Shots, login
from tests.browser.test_public_survey import answer_all, survey_url
from tests.factories import assign_test_checklist
from tests.test_dashboard import seed_responses

pytestmark = pytest.mark.browser

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " +
                    (e.sourceFile || "") + ":" + (e.lineNumber || ""));
});
"""


class Watcher:
    """A browser context for one user; collects every CSP problem seen on its pages."""

    def __init__(self, browser, **options):
        self.context = browser.new_context(locale="zh-CN", **options)
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.visited: list[str] = []

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def visit(self, url: str, status: int = 200) -> None:
        reply = self.page.goto(url)
        assert reply.status == status, (url, reply.status)
        assert "script-src" in reply.headers["content-security-policy"]
        self.page.wait_for_load_state("load")
        self.collect(url)

    def collect(self, url: str) -> None:
        self.visited.append(url)
        for violation in self.page.evaluate("window.__csp || []"):
            self.problems.append(f"{url}: {violation}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def seeded(server):
    app = server.app
    ids = seed_responses(app)
    with app.app_context(), new_session() as session:
        ids["assignment"] = assign_test_checklist(session)
    return ids


def test_no_page_breaks_the_content_security_policy(server, browser, seeded):
    base = server.url
    problems, visited = [], []

    customer = Watcher(browser, viewport={"width": 390, "height": 844}, is_mobile=True,
                       has_touch=True)
    customer.visit(survey_url(server))
    answer_all(customer.page, nps="2")
    customer.page.fill("#i-comment", "<script>alert(1)</script>")
    customer.page.get_by_role("button", name="提交评价").tap()
    customer.page.wait_for_url("**/thanks?r=*")
    customer.collect("thanks")
    customer.visit(f"{base}/s/not-a-code", status=404)

    shopper = Watcher(browser, viewport={"width": 390, "height": 844}, is_mobile=True,
                      has_touch=True)
    shopper.visit(f"{base}/login")
    login(shopper.page, base, "shopper")
    shopper.page.wait_for_url("**/shopper/")
    shopper.collect("shopper home")
    shopper.visit(f"{base}/shopper/a/{seeded['assignment']}")
    shopper.page.locator("#item-greeted label.seg-btn:has(input[value='yes'])").tap()
    shopper.page.wait_for_timeout(1500)  # autosave through htmx, progress bar update
    shopper.collect("checklist after an answer")
    shopper.visit(f"{base}/password")

    with server.app.app_context(), new_session() as session:
        case_id = session.exec(select(FollowUpCase.id)).first()
        survey_id = session.exec(select(Response.id).where(Response.channel == "qr")).first()
    assert case_id is not None and survey_id is not None

    manager = Watcher(browser, viewport={"width": 1280, "height": 900})
    login(manager.page, base, "admin")
    manager.page.wait_for_url("**/admin/")
    manager.collect("admin home")
    for path in ["/manager/", "/manager/heatmap", "/manager/trends", "/manager/league",
                 "/manager/tp/greeting", f"/manager/r/{seeded['E1']}", "/cases/",
                 f"/cases/{case_id}", "/qr/", "/qr/responses", "/assignments/", "/review/",
                 f"/review/r/{seeded['pending']}", "/password"]:
        manager.visit(base + path)
    manager.visit(f"{base}/manager/heatmap")
    Shots(manager.page, "csp")("heat-map-colours-from-classes")
    manager.visit(f"{base}/nowhere", status=404)
    # htmx swaps inside the dashboard (filters change -> fragment)
    manager.visit(f"{base}/manager/heatmap")
    manager.page.locator(".filter-box > summary").click()  # the filters sit behind one button
    manager.page.select_option("select[name=kind]", "customer_survey")
    manager.page.wait_for_load_state("networkidle")
    manager.collect("heat map after an htmx filter change")

    for watcher in (customer, shopper, manager):
        problems += watcher.problems
        visited += watcher.visited
        watcher.close()
    assert len(visited) >= 22
    assert problems == [], "\n".join(problems)


def test_the_watcher_does_see_a_violation(server, browser):
    """The check itself can fail: an inline script without the nonce is reported."""
    watcher = Watcher(browser)
    watcher.visit(f"{server.url}/login")
    watcher.page.evaluate("""() => {
        const s = document.createElement('script'); s.textContent = 'window.ran = 1';
        document.body.appendChild(s); }""")
    watcher.page.wait_for_timeout(200)
    watcher.collect("injected")
    assert not watcher.page.evaluate("window.ran === 1")
    assert any(re.search(r"script-src", p) for p in watcher.problems), watcher.problems
    watcher.close()
    assert CHROMIUM
