"""A customer's phone: scan URL -> answer -> thank you, with JavaScript on and off; the page
is one request; keyboard users can answer. Screenshots in test-artifacts/public/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import func, select

from app import tokens
from app.db import new_session
from app.models import FollowUpCase, Response
from tests.browser.conftest import Shots, login

pytestmark = pytest.mark.browser
SURVEY = "aftersales-customer-survey"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "zh-CN"}


def survey_url(server, store_code: str = "E1") -> str:
    app = server.app
    store = next(s for s in app.config["NETWORK"]["stores"] if s.code == store_code)
    with app.app_context():
        token = tokens.make(tokens.SurveyCode(store.id, SURVEY, tokens.expiry_after(30)))
    return f"{server.url}/s/{token}"


def stored(server, model=Response) -> int:
    with server.app.app_context(), new_session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def choose(page, item_id: str, value: str) -> None:
    """Tap the option's box as a thumb would (the transparent radio covers the box)."""
    page.locator(f"#q-{item_id} input[value='{value}']").tap()


def answer_all(page, *, nps: str | None = "9") -> None:
    for item in ("appointment_rating", "reception_rating", "work_quality_rating",
                 "cost_transparency_rating", "time_kept_rating", "return_explanation_rating",
                 "follow_up_rating", "overall_satisfaction"):
        choose(page, item, "5")
    choose(page, "fixed_first_time", "yes")
    if nps is not None:
        choose(page, "nps", nps)


def test_scan_answer_thank_you_on_a_phone(server, phone):
    shots = Shots(phone, "public")
    requests = []
    phone.on("request", lambda r: requests.append(r.url))
    phone.goto(survey_url(server))
    assert len(requests) == 1, requests  # HTML with inline CSS and script: one request
    assert phone.get_by_role("heading", name="售后服务满意度调查").is_visible()
    progress = phone.locator("#pw")
    assert progress.is_visible() and "0 / 11" in progress.inner_text()
    shots("survey-top", full_page=False)
    answer_all(phone, nps="4")
    assert "10 / 11" in progress.inner_text()
    phone.fill("#i-comment", "等了很久，没人解释。")
    assert "11 / 11" in progress.inner_text()
    phone.fill("#phone", "138 0000 1111")
    phone.get_by_label("我同意门店就本次评价致电联系我。").check()
    shots("survey-answered")
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks?r=*")
    assert phone.get_by_role("heading", name="谢谢您！").is_visible()
    assert "24 小时内跟进" in phone.inner_text("main")
    assert "我们会按您留下的号码回电" in phone.inner_text("main")
    shots("thank-you", full_page=False)
    assert stored(server) == 1 and stored(server, FollowUpCase) == 1
    assert phone.errors == []


@pytest.fixture
def phone_without_js(browser):
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    yield page
    context.close()


def test_the_same_without_javascript(server, phone_without_js):
    page = phone_without_js
    shots = Shots(page, "public-nojs")
    page.goto(survey_url(server, "W1"))
    assert page.locator("#pw").is_hidden()  # no live progress, the questions are numbered
    assert page.get_by_text("第 1 题，共 11 题").is_visible()
    answer_all(page)
    page.get_by_role("button", name="提交评价").tap()
    page.wait_for_url("**/thanks?r=*")
    assert page.get_by_role("heading", name="谢谢您！").is_visible()
    shots("thank-you", full_page=False)
    assert stored(server) == 1


def test_without_javascript_a_missing_answer_is_shown_and_the_others_kept(server,
                                                                         phone_without_js):
    page = phone_without_js
    shots = Shots(page, "public-nojs-missing")
    page.goto(survey_url(server, "W2"))
    answer_all(page, nps=None)
    page.get_by_role("button", name="提交评价").tap()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("请检查下方标红的 1 处回答")
    assert "请回答此题" in page.inner_text("#q-nps")
    assert page.locator("#q-reception_rating input[value='5']").is_checked()
    shots("missing-answer")
    assert stored(server) == 0
    choose(page, "nps", "8")
    page.get_by_role("button", name="提交评价").tap()
    page.wait_for_url("**/thanks?r=*")
    assert stored(server) == 1


def test_keyboard_only(server, phone):
    phone.goto(survey_url(server, "E2"))
    phone.keyboard.press("Tab")  # the language switch
    phone.keyboard.press("Tab")  # the first question's first option
    phone.keyboard.press("ArrowRight")
    focused = phone.evaluate("document.activeElement.name + '=' + document.activeElement.value")
    assert focused == "a-appointment_rating=2"
    assert phone.locator("#q-appointment_rating input[value='2']").is_checked()


def test_an_unhappy_answer_reaches_the_manager_who_closes_it(server, phone, browser):
    phone.goto(survey_url(server))
    answer_all(phone, nps="2")
    phone.fill("#i-comment", "<b>等了三个小时</b>")
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks?r=*")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    desk = context.new_page()
    shots = Shots(desk, "cases")
    login(desk, server.url, "manager")
    desk.get_by_role("link", name="回访工单").click()
    expect(desk.locator("#totals")).to_contain_text("未关闭 1 个，逾期 0 个")
    shots("cases-open")
    desk.locator("#cases a").first.click()
    expect(desk.locator("#answers")).to_contain_text("<b>等了三个小时</b>")
    desk.fill("#note", "已致电顾客，约好明天复检")
    desk.get_by_role("button", name="保存联系记录").click()
    expect(desk.get_by_role("status")).to_contain_text("已记录联系情况")
    desk.fill("#resolution", "免费复检并道歉，顾客接受")
    desk.get_by_role("button", name="关闭工单").click()
    expect(desk.locator("#status")).to_have_text("已关闭")
    shots("case-closed")
    desk.get_by_role("link", name="二维码海报").click()
    expect(desk.locator("#codes")).to_contain_text("上海一店")
    shots("qr-page")
    context.close()
