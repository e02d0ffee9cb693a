"""The customer's survey on a 390x844 phone (issue 9): the NPS scale is one row of eleven equal
boxes with its end labels under 0 and 10; "back" after the thank-you page shows it again."""

from __future__ import annotations

from tests.browser.conftest import Shots
from tests.browser.test_public_survey import answer_all, survey_url


def test_nps_is_one_row_of_eleven_with_labels_under_the_ends(server, phone):
    phone.goto(survey_url(server))
    boxes = [phone.locator(f"#q-nps input[value='{n}'] + span").bounding_box() for n in range(11)]
    assert len({round(b["y"]) for b in boxes}) == 1  # one row
    widths = [b["width"] for b in boxes]
    assert max(widths) - min(widths) < 1.5 and min(widths) >= 24  # equal, and big enough to tap
    ends = phone.locator("#q-nps .ends span")
    low, high = ends.nth(0).bounding_box(), ends.nth(1).bounding_box()
    assert abs(low["x"] - boxes[0]["x"]) < 4
    assert abs((high["x"] + high["width"]) - (boxes[10]["x"] + boxes[10]["width"])) < 4
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.locator("#q-nps").scroll_into_view_if_needed()
    Shots(phone, "public-phone")("nps-one-row", full_page=False)


def test_back_after_thanks_shows_the_thank_you_page(server, phone):
    phone.goto(survey_url(server))
    answer_all(phone)
    phone.locator("button[type=submit]").click()
    phone.wait_for_url("**/thanks**")
    thanks = phone.locator("main").inner_text()
    phone.go_back()
    phone.wait_for_load_state()
    assert "/thanks" in phone.url and phone.locator("main").inner_text() == thanks
    assert phone.locator("form#f").count() == 0
