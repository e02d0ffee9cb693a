"""The mystery shopper's whole flow on a phone, with the network going away in the middle:
answer with skip logic, lose the connection, keep answering, reload, submit offline, come back
online, see the report arrive exactly once, approve it as the reviewer and see its score."""

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlmodel import func, select

from app.db import new_session
from app.models import Answer, Photo, Response
from tests.browser.conftest import Shots, login
from tests.factories import assign_test_checklist

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def assignment(live_app):
    """The test checklist assigned to `shopper` for store E1."""
    with live_app.app_context(), new_session() as session:
        return assign_test_checklist(session)


def responses(app):
    with app.app_context(), new_session() as session:
        return session.exec(select(Response)).all()


def tap(page, item_id, value):
    page.locator(f"#item-{item_id} label.seg-btn:has(input[value='{value}'])").tap()


@pytest.fixture
def big_photo(tmp_path):
    path = tmp_path / "showroom.jpg"
    Image.new("RGB", (3000, 2000), (30, 90, 160)).save(path, "JPEG", quality=95)
    return path


def test_offline_checklist_reaches_the_reviewer_exactly_once(phone, server, live_app, assignment,
                                                              big_photo):
    shots = Shots(phone, "shopper")
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    assert "上海一店" in phone.content()
    shots("home")

    phone.locator("a.card.assignment").first.tap()
    phone.wait_for_url(f"{base}/shopper/a/{assignment}")
    phone.wait_for_function("() => document.documentElement.dataset.offlineReady === '1'")
    # skip logic: the card question appears only after a greeting
    assert not phone.errors, phone.errors
    assert phone.locator("#item-card_given").is_hidden()
    tap(phone, "greeted", "yes")
    assert phone.locator("#item-card_given").is_visible()
    tap(phone, "card_given", "yes")
    tap(phone, "drinks", "na")
    phone.wait_for_selector("#save-state [data-state=saved]")
    assert "已保存" in phone.locator("#save-state").inner_text()
    phone.evaluate("window.scrollTo(0, 500)")
    assert abs(phone.locator("#head").bounding_box()["y"]) <= 1  # progress sticks to the top
    shots("answered-online", full_page=False)

    # the network goes away: the server stops, the phone says it is offline
    server.stop()
    phone.context.set_offline(True)
    assert phone.locator("#item-licence_checked").is_hidden()
    tap(phone, "test_drive_offered", "yes")
    assert phone.locator("#item-licence_checked").is_visible()
    tap(phone, "licence_checked", "yes")
    phone.wait_for_selector("#save-state [data-state=local]")
    assert "已保存在手机上" in phone.locator("#save-state").inner_text()
    # a photo taken offline: downscaled on the phone, kept there until the report is sent
    phone.set_input_files("[data-photo-for=item_showroom_photo]", str(big_photo))
    phone.wait_for_selector("#item-showroom_photo img.thumb:not([hidden])")
    shots("answered-offline", full_page=False)

    # reload while offline: the page comes from the service worker, the answers from the phone
    phone.reload()
    phone.wait_for_selector("#checklist")
    # the phone's stored answers are put back a moment after the page shows: wait for them
    expect(phone.locator("#item-greeted input[value=yes]")).to_be_checked()
    expect(phone.locator("#item-licence_checked input[value=yes]")).to_be_checked()
    expect(phone.locator("#item-route_rating")).to_be_visible()
    shots("reloaded-offline")

    # a required answer is missing: the phone says which, without the network
    phone.locator("#submit-report").tap()
    assert phone.locator("#item-route_rating .field-error").is_visible()
    shots("missing-answer", full_page=False)
    tap(phone, "route_rating", "4")
    expect(phone.locator("#offline-banner")).to_be_hidden()  # the answer asked for is given
    phone.locator("#submit-report").tap()
    expect(phone.locator("#offline-banner")).to_contain_text("联网后将自动提交")
    expect(phone.locator("#submit-report")).to_have_attribute("data-state", "queued")
    shots("queued-offline", full_page=False)
    assert responses(live_app)[0].status == "draft"  # only the online answers reached the server

    # back online: the queued report is sent by itself
    server.start()
    phone.context.set_offline(False)
    phone.wait_for_url(f"{base}/shopper/a/{assignment}/report", timeout=20000)
    shots("submitted")
    stored = responses(live_app)
    assert len(stored) == 1 and stored[0].status == "submitted"
    with live_app.app_context(), new_session() as session:
        photo = session.exec(select(Photo)).one()  # sent with the report
        assert (photo.width, photo.height) == (1600, 1067) and photo.mime == "image/jpeg"
        answer = session.exec(select(Answer).where(Answer.item_id == "showroom_photo")).one()
        assert photo.sha256 in answer.value
    with live_app.app_context(), new_session() as session:
        assert session.exec(select(func.count()).select_from(Response)).one() == 1

    # the reviewer approves it and sees its score
    phone.locator("button.link").tap()  # log out
    phone.wait_for_url(f"{base}/login")
    login(phone, base, "reviewer")
    phone.wait_for_url(f"{base}/review/")
    phone.locator("table a").first.tap()
    expected = f"{stored[0].overall:.1f}"
    assert expected in phone.locator(".overall").inner_text()
    assert phone.locator(".answers img.thumb").count() == 1
    shots("review")
    phone.locator("button[value=approve]").tap()
    phone.wait_for_url(f"{base}/review/")
    assert "报告已通过" in phone.content()
    shots("approved")
    assert [r.status for r in responses(live_app)] == ["approved"]
