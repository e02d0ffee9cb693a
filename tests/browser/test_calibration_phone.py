"""The calibrated store league on a phone: calibrated scores with the raw mean beside, ranks
with their 90% intervals (第12名/共400家（第5–31名）), the weakest label only where the interval
is sure, and the "about these numbers" panel."""

from __future__ import annotations

from tests.browser.conftest import Shots, login
from tests.browser.test_dashboard_phone import no_sideways_scrolling
from tests.test_calibration_app import PERIOD, fit, harsh_world


def test_a_manager_reads_the_calibrated_league_with_rank_intervals_on_a_phone(phone, live_app,
                                                                             live_server):
    truth = harsh_world(live_app)
    fit(live_app)
    shots = Shots(phone, "calibration")
    login(phone, live_server, "admin")
    phone.goto(f"{live_server}/manager/league?period={PERIOD.key}&tp=greeting")
    rows = phone.locator("#league-table tbody tr")
    assert rows.count() == 31
    first = rows.first.inner_text()
    assert "第1名/共31家（第1–" in first and "最弱" in first
    assert rows.first.get_attribute("data-store") in truth[:3]
    lone = phone.locator('#league-table tr[data-store="C30"]').inner_text()
    assert "无法区分神秘顾客" in lone
    assert "已按神秘顾客差异校准" in phone.inner_text("#calibration-note")
    assert no_sideways_scrolling(phone)
    phone.evaluate("document.querySelector('#calibration-note').scrollIntoView()")
    shots("league-rank-intervals", full_page=False)
    phone.locator("#about-numbers > summary").click()
    assert "门店间差异" in phone.inner_text("#about-numbers")
    phone.locator("#about-numbers").scroll_into_view_if_needed()
    shots("about-these-numbers", full_page=False)
    phone.goto(f"{live_server}/manager/league?period={PERIOD.key}&tp=greeting&lang=en")
    assert "1st of 31 (1st–" in phone.locator("#league-table tbody tr").first.inner_text()
    phone.evaluate("document.querySelector('#league-table').scrollIntoView()")
    shots("league-in-english", full_page=False)
    assert no_sideways_scrolling(phone)
    assert not phone.errors
