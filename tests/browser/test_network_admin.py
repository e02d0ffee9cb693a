"""The quality department on a laptop: import a stores file (preview, then apply) and see
the refused rows of a bad file."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Shots, login
from tests.test_network_import import STORES


@pytest.fixture
def laptop(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def test_admin_previews_then_applies_a_stores_file(laptop, live_server, tmp_path):
    shots = Shots(laptop, "network")
    good = tmp_path / "门店.csv"
    good.write_text(STORES, encoding="gbk")
    login(laptop, live_server, "admin")
    laptop.goto(f"{live_server}/admin/network/")
    laptop.set_input_files("input[name=file]", str(good))
    laptop.click("button:has-text('预览')")
    laptop.wait_for_selector("table.counts")
    assert "尚未保存" in laptop.content() or "Nothing is saved" in laptop.content()
    shots("preview")
    laptop.click("button:has-text('应用')")
    laptop.wait_for_selector("text=已保存")
    assert laptop.evaluate("document.documentElement.scrollWidth") <= 1366
    shots("applied")

    bad = tmp_path / "bad.csv"
    bad.write_text(STORES.replace("SH02", "SH01"), encoding="utf-8")
    laptop.goto(f"{live_server}/admin/network/")
    laptop.set_input_files("input[name=file]", str(bad))
    laptop.click("button:has-text('预览')")
    laptop.wait_for_selector(".notice.error")
    assert "bad.csv:6" in laptop.inner_text(".notice.error")
    assert laptop.locator("button:has-text('应用')").count() == 0
    shots("refused")
    assert not laptop.errors
