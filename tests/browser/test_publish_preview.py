"""An instrument's preview on its admin page, in a phone-sized frame: a checklist behaves as
on the shopper's phone (items appear by their show_if, required answers are marked on
submit, nothing is sent); a customer survey is the public QR page."""

from __future__ import annotations

from sqlmodel import select

from app.db import new_session
from app.models import InstrumentVersion, Response
from tests.browser.conftest import Shots, login
from tests.browser.test_network_admin import laptop  # noqa: F401  (the 1366x768 page)


def _version(app, instrument_id: str) -> int:
    with app.app_context(), new_session() as session:
        return session.exec(select(InstrumentVersion.id).where(
            InstrumentVersion.instrument_id == instrument_id, InstrumentVersion.active)).one()


def test_the_preview_behaves_as_the_phone_and_the_public_page(laptop, live_app,  # noqa: F811
                                                              live_server):
    refused = []
    laptop.on("console", lambda m: refused.append(m.text)
              if "Content Security Policy" in m.text or "frame" in m.text.lower() else None)
    shots = Shots(laptop, "publishing")
    login(laptop, live_server, "admin")
    laptop.goto(f"{live_server}/admin/instruments/{_version(live_app, 'sales-mystery-shop')}")
    phone = laptop.frame_locator("#preview iframe")
    later = phone.locator("#item-followup_24h")
    later.wait_for(state="attached")
    assert later.is_hidden()  # shown only once a contact was asked for
    phone.locator("#item-contact_requested label.seg-btn:has(input[value='yes'])").click()
    assert later.is_visible()
    phone.locator("#submit-report").click()
    assert "此项为必答" in phone.locator("#item-followup_24h .field-error").inner_text()
    shots("checklist-preview")

    laptop.goto(f"{live_server}/admin/instruments/"
                f"{_version(live_app, 'aftersales-customer-survey')}")
    survey = laptop.frame_locator("#preview iframe")
    survey.locator("form#f [data-q]").first.wait_for()
    assert survey.locator("form#f [data-q]").count() >= 3
    survey.locator("form#f button[type=submit]").click()
    survey.locator("#problems").wait_for()  # the public page's own checks
    shots("survey-preview")
    with live_app.app_context(), new_session() as session:
        assert session.exec(select(Response)).all() == []
    assert not laptop.errors and not refused, (laptop.errors, refused)
