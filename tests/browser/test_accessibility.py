"""axe-core (from the npm registry, node_modules/axe-core) on every page type at 390x844:
no serious or critical violation anywhere, for the anonymous customer, the shopper, the
reviewer, the manager and the admin."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.db import new_session
from app.models import FollowUpCase
from tests.browser.conftest import login
from tests.browser.test_public_survey import answer_all, survey_url
from tests.factories import assign_test_checklist
from tests.test_dashboard import seed_responses

AXE = Path(__file__).resolve().parent.parent.parent / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1,
         "is_mobile": True, "has_touch": True, "locale": "zh-CN"}


@pytest.fixture
def page(browser):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make setup` installs axe-core from package.json")
    # axe is injected as a script of its own: the pages' CSP is checked by its own test
    context = browser.new_context(bypass_csp=True, **PHONE)
    page = context.new_page()
    yield page
    context.close()


def violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id} (${v.impact}): `
                + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | "));
    }""")
    return found


def check(page, url: str, problems: dict) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    found = violations(page)
    if found:
        problems[url] = found


def test_no_serious_accessibility_violation_on_any_page(page, server, live_app):
    ids = seed_responses(live_app)
    with live_app.app_context(), new_session() as session:
        assignment = assign_test_checklist(session)
    base, problems = server.url, {}

    # the customer: survey, thank-you (with a case opened), a bad code
    survey = survey_url(server)
    check(page, survey, problems)
    answer_all(page, nps="3")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/thanks**")
    check(page, page.url, problems)
    check(page, f"{base}/s/not-a-code", problems)
    check(page, f"{base}/login", problems)
    check(page, f"{base}/shopper/offline", problems)

    login(page, base, "shopper")
    page.wait_for_url(f"{base}/shopper/")
    check(page, f"{base}/shopper/", problems)
    check(page, f"{base}/shopper/a/{assignment}", problems)
    page.wait_for_function("() => document.documentElement.dataset.draftReady === '1'")
    for item, value in (("greeted", "no"), ("drinks", "yes"), ("test_drive_offered", "no")):
        page.locator(f"#item-{item} label.seg-btn:has(input[value='{value}'])").tap()
    page.locator("#submit-report").tap()
    page.wait_for_url(f"{base}/shopper/a/{assignment}/report")
    check(page, page.url, problems)
    page.locator("form[data-logout] button").tap()
    page.wait_for_url(f"{base}/login")

    login(page, base, "reviewer")
    page.wait_for_url(f"{base}/review/")
    check(page, f"{base}/review/", problems)
    check(page, f"{base}/review/r/{ids['pending']}", problems)
    page.locator("form[action$='/logout'] button").click()

    with live_app.app_context(), new_session() as session:
        case = session.exec(select(FollowUpCase)).first()
    login(page, base, "manager")
    page.wait_for_url(f"{base}/manager/")
    for path in ("/manager/", "/manager/league", "/manager/heatmap", "/manager/trends",
                 "/manager/tp/greeting", f"/manager/r/{ids['E1']}", "/manager/?to=2000-01-01",
                 "/cases/", f"/cases/{case.id}", "/qr/", "/assignments/", "/no-such-page"):
        check(page, base + path, problems)
    page.goto(f"{base}/manager/tp/greeting")
    page.locator("table.table tbody a").first.click()
    page.wait_for_url("**/items/**")
    check(page, page.url, problems)
    page.locator("form[action$='/logout'] button").click()

    login(page, base, "admin")
    page.wait_for_url(f"{base}/admin/")
    for path in ("/admin/", "/qr/responses"):
        check(page, base + path, problems)

    assert not problems, "\n".join(f"{url}: {v}" for url, found in problems.items() for v in found)
