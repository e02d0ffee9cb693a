"""The dashboard on a phone: filters update the page through htmx without a reload, the URL
follows every state, and the drill-down reaches one response."""

from __future__ import annotations

from tests.browser.conftest import Shots, login
from tests.test_dashboard import seed_responses


def no_sideways_scrolling(page) -> bool:
    """Nothing reaches past the 390 px screen, and no box scrolls sideways."""
    return page.evaluate("""() => {
        const wide = [...document.querySelectorAll("body *")].filter((el) => {
            const box = el.getBoundingClientRect();
            return box.width && box.right > window.innerWidth + 0.5;
        });
        const scrolling = [...document.querySelectorAll("body *")].filter((el) =>
            el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible"
            && getComputedStyle(el).overflowX !== "hidden");
        return wide.length === 0 && scrolling.length === 0
            && document.documentElement.scrollWidth <= window.innerWidth;
    }""")


def smallest_chart_text(page) -> float:
    """The smallest text in the page's SVG charts, in CSS pixels as drawn."""
    return page.evaluate("""() => Math.min(...[...document.querySelectorAll("svg text")].map((t) => {
        const svg = t.ownerSVGElement, scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        return parseFloat(getComputedStyle(t).fontSize) * scale;
    }))""")


def test_manager_finds_what_to_fix_first_on_a_phone(phone, live_app, live_server):
    seed_responses(live_app)
    shots = Shots(phone, "dashboard")
    login(phone, live_server, "manager")
    phone.wait_for_url(f"{live_server}/manager/")
    first = phone.locator("table.board tbody tr").first
    assert "进店问候" in first.inner_text()  # E1's weak greeting, ranked first
    summary = phone.locator("#summary")
    assert "最弱：进店问候/接待" in summary.inner_text() and "E1" in summary.inner_text()
    assert summary.bounding_box()["y"] < 400  # the answer is on the first screen
    assert no_sideways_scrolling(phone)
    assert smallest_chart_text(phone) >= 12
    shots("short-board")

    # an impossible date range: said next to the field, the board stays
    phone.locator(".filter-box > summary").click()
    phone.fill("input[name=to]", "2020-02-01")  # before the default range's start
    phone.locator("input[name=to]").dispatch_event("change")
    error = phone.locator("#err-to")
    error.wait_for()
    assert "结束日期早于开始日期" in error.inner_text()
    assert phone.locator("input[name=to]").get_attribute("aria-invalid") == "true"
    assert error.bounding_box()["y"] - phone.locator("input[name=to]").bounding_box()["y"] < 80
    assert no_sideways_scrolling(phone)
    shots("bad-date-range", full_page=False)
    phone.goto(f"{live_server}/manager/")

    phone.evaluate("window.notReloaded = true")
    phone.locator(".filter-box > summary").click()
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
    assert not [e for e in phone.errors if not e.startswith(("404", "400"))], phone.errors
