"""The phone in the field never loses work (issue 9): photos and answers in IndexedDB survive a
reload offline, a save the phone refuses is shown in red, a queued report is sent by the list
page, checklists are kept for offline use by the list, a never-kept one shows the app's page,
old localStorage drafts move over, and logout warns about (or clears) what the phone holds."""

from __future__ import annotations

import json
import os

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlmodel import func, select

from app.db import new_session
from app.models import Answer, Photo, Response
from tests.browser.conftest import Shots, login
from tests.factories import assign_test_checklist

RED = "rgb(164, 38, 44)"  # --bad


def assign(app, definition="shop-case"):
    with app.app_context(), new_session() as session:
        return assign_test_checklist(session, definition=definition)


def stored(app):
    with app.app_context(), new_session() as session:
        return (session.exec(select(Response)).all(),
                session.exec(select(func.count()).select_from(Photo)).one())


def tap(page, item_id, value):
    page.locator(f"#item-{item_id} label.seg-btn:has(input[value='{value}'])").tap()


def open_checklist(page, base, assignment):
    page.goto(f"{base}/shopper/a/{assignment}")
    page.wait_for_function("() => document.documentElement.dataset.offlineReady === '1'")
    page.wait_for_function("() => document.documentElement.dataset.draftReady === '1'")


def go_offline(page, server):
    server.stop()
    page.context.set_offline(True)


def come_online(page, server):
    server.start()
    page.context.set_offline(False)


def idb(page, store):
    """Everything in one IndexedDB store of the page's origin (photos: their sizes in bytes)."""
    return page.evaluate("""(store) => new Promise((resolve, reject) => {
        const open = indexedDB.open("touchpoint");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
            const all = open.result.transaction(store).objectStore(store).getAll();
            all.onsuccess = () => resolve(all.result.map((r) => r.blob ? r.blob.size : r.assignment));
        };
    })""", store)


@pytest.fixture
def big_photos(tmp_path):
    """Ten 3000x2000 photos of noise: each still about 1 MB after the phone downscales it."""
    paths = []
    for n in range(10):
        noise = Image.frombytes("RGB", (750, 500), os.urandom(750 * 500 * 3))
        path = tmp_path / f"spot-{n + 1}.jpg"
        noise.resize((3000, 2000), Image.NEAREST).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def test_ten_big_photos_taken_offline_survive_a_reload(phone, server, live_app, big_photos):
    assignment = assign(live_app, "photo-case")
    shots = Shots(phone, "phone-offline")
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)

    go_offline(phone, server)
    for n, path in enumerate(big_photos, start=1):
        tap(phone, f"spot_{n}", "yes")
        phone.set_input_files(f"[data-photo-for=evidence_spot_{n}]", str(path))
        phone.wait_for_selector(f"#item-spot_{n} img.thumb:not([hidden])")
    phone.wait_for_selector("#save-state [data-state=local]")
    sizes = idb(phone, "photos")
    assert len(sizes) == 10 and sum(sizes) > 5_000_000  # more than localStorage could ever hold

    phone.reload()
    phone.wait_for_function("() => document.documentElement.dataset.draftReady === '1'")
    for n in range(1, 11):
        assert phone.locator(f"#item-spot_{n} input[value=yes]").is_checked()
        thumb = phone.locator(f"#item-spot_{n} img.thumb")
        assert thumb.is_visible()
        assert phone.evaluate("(img) => img.complete && img.naturalWidth", thumb.element_handle()) == 1600
    assert "已保存在手机上" in phone.locator("#save-state").inner_text()
    shots("ten-photos-after-reload", full_page=False)

    # online again: the report goes with all ten photos, once
    phone.locator("#submit-report").tap()
    phone.wait_for_selector("#submit-report[data-state=queued]")
    come_online(phone, server)
    phone.wait_for_url(f"{base}/shopper/a/{assignment}/report", timeout=30000)
    responses, photos = stored(live_app)
    assert [r.status for r in responses] == ["submitted"] and photos == 10
    assert idb(phone, "photos") == []


def test_a_save_the_phone_refuses_is_shown_as_not_saved_in_red(phone, server, live_app):
    assignment = assign(live_app)
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)
    go_offline(phone, server)
    phone.evaluate("""() => { IDBObjectStore.prototype.put = function () {
        throw new DOMException("The quota has been exceeded.", "QuotaExceededError"); }; }""")
    tap(phone, "greeted", "yes")
    state = phone.locator("#save-state [data-state=error]")
    state.wait_for()
    assert state.inner_text() == "未保存"
    assert phone.evaluate("(el) => getComputedStyle(el).backgroundColor", state.element_handle()) == RED
    toast = phone.locator("#offline-banner")
    assert toast.is_visible() and "未保存" in toast.inner_text() and "连接网络" in toast.inner_text()
    assert "已保存" not in phone.locator("#head").inner_text()
    Shots(phone, "phone-offline")("save-refused", full_page=False)


def test_a_report_queued_offline_is_sent_by_the_list_page(phone, server, live_app):
    assignment = assign(live_app)
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)
    tap(phone, "greeted", "no")
    tap(phone, "drinks", "yes")
    tap(phone, "test_drive_offered", "no")
    phone.wait_for_selector("#save-state [data-state=saved]")

    go_offline(phone, server)
    phone.locator("#submit-report").tap()
    phone.wait_for_selector("#submit-report[data-state=queued]")
    button = phone.locator("#submit-report")
    assert "联网后自动发送" in button.inner_text()

    phone.goto(f"{base}/shopper/")  # offline: the list from the phone's copy
    phone.wait_for_function("() => document.documentElement.dataset.listReady === '1'")
    card = phone.locator(f"a[data-assignment='{assignment}']")
    assert card.get_attribute("data-outbox") == "waiting"
    assert "等待发送" in card.locator(".badge").inner_text()
    Shots(phone, "phone-offline")("list-waiting-to-send")
    assert [r.status for r in stored(live_app)[0]] == ["draft"]

    come_online(phone, server)  # only the list is open
    phone.wait_for_selector(f"a[data-assignment='{assignment}'][data-outbox=sent]", timeout=20000)
    assert card.locator(".badge").inner_text() == "已提交"
    assert [r.status for r in stored(live_app)[0]] == ["submitted"]
    phone.reload()
    assert "state-submitted" in card.get_attribute("class")


def test_a_photo_the_outbox_sent_stays_with_a_refused_report_until_it_goes(phone, server, live_app,
                                                                          tmp_path):
    """The outbox uploads the photo, then the server refuses the report (the visit ends before
    it starts). The page held no hash for that photo and the phone no longer holds its Blob: the
    correction the shopper makes next must not wipe the photo from the draft (it did, about 2
    runs in 8 of test_shopper_phone, when an autosave landed while the outbox was sending)."""
    assignment = assign(live_app)
    shots = Shots(phone, "phone-offline")
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)
    for item, value in (("greeted", "yes"), ("card_given", "yes"), ("drinks", "na"),
                        ("test_drive_offered", "yes"), ("licence_checked", "yes"),
                        ("route_rating", "4")):
        tap(phone, item, value)
    phone.wait_for_selector("#save-state [data-state=saved]")

    go_offline(phone, server)
    phone.fill("input[name=visit_start]", "00:02")
    phone.fill("input[name=visit_end]", "00:01")
    photo = tmp_path / "showroom.jpg"
    Image.new("RGB", (1200, 800), (30, 90, 160)).save(photo, "JPEG")
    phone.set_input_files("[data-photo-for=item_showroom_photo]", str(photo))
    thumb = phone.locator("#item-showroom_photo img.thumb")
    expect(thumb).to_be_visible()
    phone.locator("#submit-report").tap()
    expect(phone.locator("#submit-report")).to_have_attribute("data-state", "queued")

    come_online(phone, server)  # the photo goes up, the report comes back refused
    visit = phone.locator("#visit-times .field-error")
    expect(visit).to_have_text("离店时间必须晚于到店时间。", timeout=20000)
    expect(phone.locator("#submit-report")).to_have_attribute("data-state", "ready")
    assert idb(phone, "photos") == []  # uploaded: only the draft's hash keeps it now
    expect(thumb).to_be_visible()
    shots("refused-with-photo", full_page=False)

    phone.fill("input[name=visit_end]", "00:03")  # the correction: the page writes its draft
    expect(visit).to_be_hidden()
    expect(phone.locator("#save-state [data-state=saved]")).to_be_visible()
    phone.reload()
    phone.wait_for_function("() => document.documentElement.dataset.draftReady === '1'")
    expect(visit).to_be_hidden()  # fixed: the refusal is not shown again
    expect(thumb).to_be_visible()
    assert phone.evaluate("(img) => img.complete && img.naturalWidth", thumb.element_handle()) > 0
    phone.locator("#submit-report").tap()
    phone.wait_for_url(f"{base}/shopper/a/{assignment}/report", timeout=20000)
    with live_app.app_context(), new_session() as session:
        sent = session.exec(select(Photo)).one()
        answer = session.exec(select(Answer).where(Answer.item_id == "showroom_photo")).one()
        assert sent.sha256 in answer.value
    responses, photos = stored(live_app)
    assert [r.status for r in responses] == ["submitted"] and photos == 1


def test_an_answer_given_while_a_save_is_on_its_way_is_saved_too(phone, server, live_app):
    """A save answers for the answers it carried: one given while it was on its way is still
    unsaved when it comes back (it used to count as saved, and logout then cleared it)."""
    assignment = assign(live_app)
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)
    held = []
    phone.route("**/save", lambda route: route.continue_() if held else held.append(route))
    tap(phone, "greeted", "yes")
    while not held:  # each round trip to the page lets Playwright deliver the held request
        phone.evaluate("0")
    tap(phone, "drinks", "yes")  # while the first save is held on its way
    state = phone.locator("#save-state .state")
    expect(state).to_have_attribute("data-state", "saving")
    with phone.expect_request("**/save", timeout=10000) as second:
        held[0].continue_()
    assert "item_drinks=yes" in second.value.post_data
    expect(state).to_have_attribute("data-state", "saved")
    with live_app.app_context(), new_session() as session:
        answers = session.exec(select(Answer.item_id, Answer.value)).all()
    assert {(item, json.loads(value)) for item, value in answers} >= {("greeted", "yes"),
                                                                      ("drinks", "yes")}


def test_the_list_keeps_due_checklists_for_offline_use(phone, server, live_app):
    kept = assign(live_app)
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    phone.wait_for_function("() => document.documentElement.dataset.offlineReady === '1'")
    phone.reload()  # the service worker now controls the list
    phone.wait_for_function("() => document.documentElement.dataset.listReady === '1'")
    card = phone.locator(f"a[data-assignment='{kept}']")
    assert card.locator("[data-offline-state]").inner_text() == "可离线使用"
    Shots(phone, "phone-offline")("list-available-offline")
    with live_app.app_context(), new_session() as session:
        never = assign_test_checklist(session, store_code="E2")  # created after the list loaded

    go_offline(phone, server)
    card.tap()  # never opened before: the list kept it
    phone.wait_for_url(f"{base}/shopper/a/{kept}")
    phone.wait_for_function("() => document.documentElement.dataset.draftReady === '1'")
    tap(phone, "greeted", "yes")
    assert phone.locator("#item-card_given").is_visible()

    phone.goto(f"{base}/shopper/a/{never}")
    page = phone.locator("#offline-page")
    assert page.is_visible() and "尚未保存在手机上" in page.inner_text()
    Shots(phone, "phone-offline")("never-kept-offline")


def test_old_local_storage_drafts_move_to_indexeddb(phone, server, live_app, tmp_path):
    assignment = assign(live_app)
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    dot = tmp_path / "dot.jpg"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(dot, "JPEG")
    import base64
    data_url = "data:image/jpeg;base64," + base64.b64encode(dot.read_bytes()).decode()
    old = {"uuid": "8c2b7c1e-4f3a-4c55-9a43-6f1f5b0f2a10", "fields": {"item_greeted": "yes"},
           "photos": {"item_showroom_photo": data_url}, "dirty": True, "pending": False}
    phone.evaluate("([k, v]) => localStorage.setItem(k, v)", [f"tp-draft:{assignment}", json.dumps(old)])
    open_checklist(phone, base, assignment)
    assert phone.locator("#item-greeted input[value=yes]").is_checked()
    assert phone.locator("#item-showroom_photo img.thumb").is_visible()
    assert phone.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('tp-draft:'))") == []
    assert phone.locator("input[name=uuid]").input_value() == old["uuid"]


def test_logout_warns_about_unsent_answers_and_otherwise_clears_the_phone(phone, server, live_app):
    assignment = assign(live_app)
    base = server.url
    login(phone, base, "shopper")
    phone.wait_for_url(f"{base}/shopper/")
    open_checklist(phone, base, assignment)
    phone.route("**/save", lambda route: route.abort())  # the answer never reaches the server
    tap(phone, "greeted", "yes")
    phone.wait_for_selector("#save-state [data-state=local]")

    dialogs = []
    phone.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with phone.expect_event("dialog"):
        phone.locator("form[data-logout] button").tap()
    assert dialogs and "未发送" in dialogs[0] and "上海一店" in dialogs[0]
    assert phone.url == f"{base}/shopper/a/{assignment}"  # still logged in, nothing lost

    phone.unroute("**/save")
    tap(phone, "greeted", "no")
    phone.wait_for_selector("#save-state [data-state=saved]")
    phone.locator("form[data-logout] button").tap()
    phone.wait_for_url(f"{base}/login")
    assert len(dialogs) == 1
    assert idb(phone, "drafts") == []
    assert phone.evaluate("() => caches.keys()") == []
