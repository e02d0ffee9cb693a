"""The checklist reads well on a 390x844 phone (issue 9): a one-line header whose progress
counts required photos and says how many items are shown; keyboard focus never lands under
the sticky header or the submit bar; the submit button says "queued"."""

from __future__ import annotations

from PIL import Image

from app.db import new_session
from tests.browser.conftest import Shots, login
from tests.browser.test_phone_offline import assign, go_offline, open_checklist, tap
from tests.factories import assign as assign_shipped

FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const box = (el.closest("label.seg-btn, label.photo-btn") || el).getBoundingClientRect();
    return { name: el.name || el.id || el.textContent.trim().slice(0, 20), top: box.top, bottom: box.bottom,
             head: document.getElementById("head").getBoundingClientRect().bottom,
             bar: document.querySelector(".submit-bar").getBoundingClientRect().top,
             inForm: !!el.closest("#checklist") && !el.closest(".submit-bar"),
             submit: el.id === "submit-report" };
}"""


def test_focus_never_lands_under_the_header_or_the_submit_bar(phone, server, live_app):
    with live_app.app_context(), new_session() as session:
        assignment = assign_shipped(session, "sales-mystery-shop")
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)
    head = phone.locator("#head").bounding_box()
    assert head["height"] <= 48  # one line and a thin progress bar

    stops, hidden = 0, []
    for _ in range(600):
        phone.keyboard.press("Tab")
        focus = phone.evaluate(FOCUS)
        if focus is None or focus["submit"]:
            break
        if not focus["inForm"]:
            continue
        stops += 1
        if focus["top"] < focus["head"] - 0.5 or focus["bottom"] > focus["bar"] + 0.5:
            hidden.append(focus)
    assert stops > 60  # the whole 72-item checklist was walked
    assert not hidden, hidden


def test_progress_counts_required_photos_and_the_items_shown(phone, server, live_app, tmp_path):
    assignment = assign(live_app, "photo-case")
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)
    progress = phone.locator("#progress-text")
    assert progress.inner_text() == "已完成 0 / 当前显示 11"  # ten answers and one required photo
    for n in range(1, 11):
        tap(phone, f"spot_{n}", "yes")
    assert progress.inner_text() == "已完成 10 / 当前显示 11"
    assert phone.locator("[role=progressbar]").get_attribute("aria-valuenow") == "91"

    phone.locator("#submit-report").tap()  # the photo is missing: said where it belongs
    error = phone.locator("#item-spot_1 .field-error")
    error.wait_for()
    assert "拍照" in error.inner_text()

    photo = tmp_path / "door.jpg"
    Image.new("RGB", (800, 600), (20, 120, 60)).save(photo, "JPEG")
    phone.set_input_files("[data-photo-for=evidence_spot_1]", str(photo))
    phone.wait_for_function(
        "() => document.getElementById('progress-text').textContent === '已完成 11 / 当前显示 11'")
    assert phone.locator("[role=progressbar]").get_attribute("aria-valuenow") == "100"


def test_header_stays_one_line_and_the_button_says_queued(phone, server, live_app):
    assignment = assign(live_app)
    base = server.url
    shots = Shots(phone, "phone-layout")
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)
    head = phone.locator("#head")
    height = head.bounding_box()["height"]
    tap(phone, "greeted", "no")
    tap(phone, "drinks", "yes")
    tap(phone, "test_drive_offered", "no")
    phone.wait_for_selector("#save-state [data-state=saved]")
    go_offline(phone, server)
    phone.locator("#submit-report").tap()
    phone.wait_for_selector("#submit-report[data-state=queued]")
    assert "联网后自动发送" in phone.locator("#submit-report").inner_text()
    assert phone.locator("#offline-banner").is_visible()  # the message is in the bar ...
    assert head.bounding_box()["height"] == height  # ... and the header did not grow
    shots("queued", full_page=False)
    server.start()
    phone.context.set_offline(False)
    phone.wait_for_url(f"{base}/shopper/a/{assignment}/report", timeout=20000)
    shots("sent")


def test_every_english_label_fits_its_button(phone, server, live_app):
    with live_app.app_context(), new_session() as session:
        assignment = assign_shipped(session, "sales-mystery-shop")
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    phone.goto(f"{base}/lang/en?next=/shopper/a/{assignment}")
    phone.wait_for_function("() => document.documentElement.dataset.draftReady === '1'")
    phone.evaluate("document.querySelectorAll('.item').forEach((el) => { el.hidden = false; })")
    spilling = phone.evaluate("""() => [...document.querySelectorAll(".seg-btn span, .button, .badge")]
        .filter((el) => el.offsetParent && (el.scrollWidth > el.clientWidth + 1
                                            || el.getBoundingClientRect().right > window.innerWidth))
        .map((el) => el.textContent.trim())""")
    assert "Invited unprompted" in phone.content()
    assert spilling == []


def in_view(page, selector) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844


def test_the_reviewers_decision_is_always_within_reach(phone, server, live_app):
    from tests.test_dashboard import seed_responses

    pending = seed_responses(live_app)["pending"]  # a 72-item report waiting for review
    base = server.url
    login(phone, base, "reviewer")
    phone.wait_for_url(f"{base}/review/")
    phone.goto(f"{base}/review/r/{pending}")
    assert phone.evaluate("document.documentElement.scrollHeight") > 3 * 844
    assert in_view(phone, "#decision button[value=approve]")
    phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    assert in_view(phone, "#decision button[value=return]")
    shots = Shots(phone, "phone-review")
    shots("decision-bar", full_page=False)

    phone.locator("#decision button[value=return]").tap()  # no comment: said by the box
    phone.wait_for_selector("#comment-error")
    assert in_view(phone, "#comment-error") and in_view(phone, "#comment")
    assert "需要修改的内容" in phone.locator("#comment-error").inner_text()
    shots("comment-missing", full_page=False)
