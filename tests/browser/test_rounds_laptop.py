"""Planning next month's round on a laptop: the plan is previewed (who goes where, stores left
short and why), committed, and its progress board shown; the shopper then finds the visit."""

from __future__ import annotations

from sqlmodel import select

from app.db import new_session
from app.models import Region, ShopperRegion, User
from tests.browser.conftest import Shots, login
from tests.browser.test_network_admin import laptop  # noqa: F401  (the 1366x768 page)


def test_admin_plans_a_round_then_the_shopper_sees_it(laptop, browser, live_app,  # noqa: F811
                                                      live_server):
    with live_app.app_context(), new_session() as session:
        east = session.exec(select(Region).where(Region.code == "east")).one()
        shopper = session.exec(select(User).where(User.username == "shopper")).one()
        shopper.monthly_capacity = 4
        session.add_all([shopper, ShopperRegion(user_id=shopper.id, region_id=east.id)])
        session.commit()
    shots = Shots(laptop, "rounds")
    login(laptop, live_server, "admin")
    laptop.goto(f"{live_server}/admin/rounds/")
    laptop.fill("input[name=quota]", "1")
    shots("plan-form")
    laptop.click("button:has-text('预览排期')")
    laptop.wait_for_selector("table.visits")
    visits = laptop.locator("table.visits tbody tr")
    assert visits.count() == 2  # E1 and E2: the west stores have no shopper
    short = laptop.inner_text("table.shortfalls")
    assert "W1" in short and "没有常驻区域覆盖该门店的暗访员" in short
    assert laptop.evaluate("document.documentElement.scrollWidth") <= 1366
    shots("preview")
    laptop.click("button:has-text('确认并生成任务')")
    laptop.wait_for_selector("table.board")
    assert "E1" in laptop.inner_text("table.board")
    shots("progress-board")
    assert not laptop.errors

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, locale="zh-CN").new_page()
    login(phone, live_server, "shopper")
    phone.wait_for_url(f"{live_server}/shopper/")
    assert "上海一店" in phone.content() and "杭州一店" in phone.content()
    phone.context.close()
