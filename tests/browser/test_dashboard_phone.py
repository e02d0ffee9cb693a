"""The dashboard on a phone: filters update the page through htmx without a reload, the URL
follows every state, and the drill-down reaches one response."""

from __future__ import annotations

from tests.browser.conftest import Shots, login
from tests.test_dashboard import seed_responses


def test_manager_finds_what_to_fix_first_on_a_phone(phone, live_app, live_server):
    seed_responses(live_app)
    shots = Shots(phone, "dashboard")
    login(phone, live_server, "manager")
    phone.wait_for_url(f"{live_server}/manager/")
    first = phone.locator("table.board tbody tr").first
    assert "进店问候" in first.inner_text()  # E1's weak greeting, ranked first
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shots("short-board")

    phone.evaluate("window.notReloaded = true")
    phone.select_option("select[name=kind]", "customer_survey")
    phone.wait_for_url("**kind=customer_survey**")
    phone.wait_for_selector("table.board")
    assert phone.evaluate("window.notReloaded") is True  # htmx swapped, no full reload
    shots("perception")
    bookmarked = phone.url
    phone.goto(bookmarked)
    assert phone.locator("select[name=kind]").input_value() == "customer_survey"

    phone.goto(f"{live_server}/manager/")
    phone.locator("table.board tbody tr").first.locator("a").first.click()
    phone.wait_for_url("**/manager/tp/greeting**")
    shots("items")
    phone.locator("table.table tbody a").first.click()
    phone.wait_for_url("**/items/**")
    shots("failed-answers")
    phone.locator("text=查看").first.click()
    phone.wait_for_url("**/manager/r/**")
    assert "上海一店" in phone.content()
    shots("one-response")

    phone.goto(f"{live_server}/manager/heatmap")
    shots("heat-map")
    phone.goto(f"{live_server}/manager/trends")
    shots("trends")
    assert not [e for e in phone.errors if not e.startswith("404")], phone.errors
