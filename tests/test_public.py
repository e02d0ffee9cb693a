"""The public QR survey: a customer scans, answers on one page (no JavaScript needed), and
sees a thank-you page; bad codes get a friendly page and a 4xx; nothing is stored twice."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import func, select

from app import tokens
from app.db import new_session
from app.models import Response, Store, SurveyToken, SurveyTokenBatch, TouchpointScore
from tests.conftest import csrf_token
from tests.factories import _shipped

SURVEY = "aftersales-customer-survey"


def store_id(app, code: str = "E1") -> int:
    with app.app_context(), new_session() as session:
        return session.exec(select(Store.id).where(Store.code == code)).one()


def token_for(app, code: str = "E1", instrument: str = SURVEY, *, expires: date | None = None,
              single_use_id: int | None = None) -> str:
    with app.app_context():
        return tokens.make(tokens.SurveyCode(
            store_id(app, code), instrument, expires or tokens.expiry_after(30), single_use_id))


def single_use_token(app, code: str = "E1", reference: str = "SO-1") -> str:
    with app.app_context(), new_session() as session:
        sid = session.exec(select(Store.id).where(Store.code == code)).one()
        batch = SurveyTokenBatch(store_id=sid, instrument_id=SURVEY,
                                 expires_at=datetime.now(UTC) + timedelta(days=30))
        session.add(batch)
        session.flush()
        row = SurveyToken(batch_id=batch.id, store_id=sid, instrument_id=SURVEY,
                          reference=reference)
        session.add(row)
        session.commit()
        row_id = row.id
    return token_for(app, code, single_use_id=row_id)


def happy_answers(instrument_id: str = SURVEY, **overrides) -> dict[str, str]:
    """Form fields answering every question well; overrides by item id."""
    instrument = next(i for i in _shipped()[1] if i.id == instrument_id)
    values = {"scale": "5", "nps": "10", "yes_no": "yes", "text": ""}
    answers = {item.id: values[item.type] for item in instrument.items()}
    answers.update(overrides)
    return {f"a-{k}": v for k, v in answers.items()}


def fields(html: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(html),
        "uuid": re.search(r'name="uuid" value="([^"]+)"', html).group(1),
    }


def answer(client, token: str, **overrides):
    """Open the survey, answer it; returns the POST response."""
    page = client.get(f"/s/{token}")
    assert page.status_code == 200, page.status_code
    extra = {k: v for k, v in overrides.items() if k in ("phone", "call_back")}
    items = {k: v for k, v in overrides.items() if k not in extra}
    data = fields(page.get_data(as_text=True)) | happy_answers(**items) | extra
    return client.post(f"/s/{token}", data=data)


def qr_responses(app) -> int:
    with app.app_context(), new_session() as session:
        return session.exec(select(func.count(Response.id)).where(Response.channel == "qr")).one()


def text_of(response) -> str:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text(" ", strip=True)


# --- the page --------------------------------------------------------------------------


def test_the_survey_is_in_chinese_by_default(client, app):
    page = client.get(f"/s/{token_for(app)}")
    assert page.status_code == 200
    text = text_of(page)
    assert "售后服务满意度调查" in text and "上海一店" in text
    assert "第 1 题，共 11 题" in text
    assert "English" in text


@pytest.mark.parametrize(("accept", "title"), [
    ("en-US,en;q=0.9", "Service visit satisfaction survey"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "售后服务满意度调查"),
    ("fr-FR,en;q=0.5", "Service visit satisfaction survey"),
])
def test_the_language_follows_the_browser(client, app, accept, title):
    page = client.get(f"/s/{token_for(app)}", headers={"Accept-Language": accept})
    assert title in text_of(page)


def test_the_switch_changes_the_language_and_keeps_it(client, app):
    token = token_for(app)
    soup = BeautifulSoup(client.get(f"/s/{token}").get_data(as_text=True), "html.parser")
    switch = soup.find("a", string="English")["href"]
    assert "Service visit satisfaction survey" in text_of(client.get(switch))
    assert "Service visit satisfaction survey" in text_of(client.get(f"/s/{token}"))


def test_every_control_has_a_label_and_every_group_a_legend(client, app):
    soup = BeautifulSoup(client.get(f"/s/{token_for(app)}").get_data(as_text=True), "html.parser")
    controls = soup.select("form input:not([type=hidden]), form textarea, form select")
    assert len(controls) > 50
    for control in controls:
        if control.get("type") in ("radio", "checkbox"):
            label = control.find_parent("label")
        else:
            label = soup.find("label", attrs={"for": control.get("id")})
        assert label is not None and label.get_text(strip=True), control
    for group in soup.select("fieldset"):
        assert group.find("legend").get_text(strip=True)
    assert soup.html["lang"] == "zh-CN"


def test_the_page_is_one_small_request(client, app):
    page = client.get(f"/s/{token_for(app)}", headers={"Accept-Encoding": "gzip, br"})
    assert page.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(page.data).decode()
    assert len(page.data) < 20 * 1024
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.select("link[rel=stylesheet], script[src], img[src]")
    assert soup.find("link", rel="icon")["href"] == "data:,"  # no favicon request either


# --- answering ---------------------------------------------------------------------------


def test_answering_shows_thanks_and_stores_a_counted_qr_response(client, app):
    done = answer(client, token_for(app))
    assert done.status_code == 303
    thanks = client.get(done.headers["Location"])
    assert thanks.status_code == 200 and "谢谢" in text_of(thanks)
    with app.app_context(), new_session() as session:
        response = session.exec(select(Response).where(Response.channel == "qr")).one()
        assert (response.status, response.kind, response.overall) == (
            "submitted", "customer_survey", 100.0)
        scores = session.exec(
            select(TouchpointScore).where(TouchpointScore.response_id == response.id)).all()
        assert scores and all(s.counted for s in scores)


def test_sending_the_same_page_twice_stores_it_once(client, app):
    token = token_for(app)
    data = fields(client.get(f"/s/{token}").get_data(as_text=True)) | happy_answers()
    first = client.post(f"/s/{token}", data=data)
    second = client.post(f"/s/{token}", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert qr_responses(app) == 1


def test_missing_answers_are_shown_and_the_given_ones_kept(client, app):
    token = token_for(app)
    data = fields(client.get(f"/s/{token}").get_data(as_text=True)) | happy_answers()
    del data["a-nps"]
    data["a-reception_rating"] = "2"
    page = client.post(f"/s/{token}", data=data)
    assert page.status_code == 400
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    assert "请回答此题" in soup.select_one("#q-nps").get_text()
    assert soup.select_one("input[name=a-reception_rating][value='2']").has_attr("checked")
    assert soup.select_one("[role=alert] a[href='#q-nps']")
    assert qr_responses(app) == 0


@pytest.mark.parametrize("field,value", [("a-nps", "11"), ("a-reception_rating", "abc"),
                                         ("a-fixed_first_time", "maybe")])
def test_an_impossible_answer_is_refused_and_nothing_stored(client, app, field, value):
    token = token_for(app)
    data = fields(client.get(f"/s/{token}").get_data(as_text=True)) | happy_answers()
    data[field] = value
    assert client.post(f"/s/{token}", data=data).status_code == 400
    assert qr_responses(app) == 0


def test_an_unknown_field_is_ignored(client, app):
    token = token_for(app)
    data = fields(client.get(f"/s/{token}").get_data(as_text=True)) | happy_answers()
    data["a-not_an_item"] = "5"
    assert client.post(f"/s/{token}", data=data).status_code == 303


def test_without_the_csrf_token_nothing_is_stored(client, app):
    token = token_for(app)
    client.get(f"/s/{token}")
    page = client.post(f"/s/{token}", data=happy_answers())
    assert page.status_code == 400 and "请重新扫码" in text_of(page)
    assert qr_responses(app) == 0


# --- bad codes -----------------------------------------------------------------------------


def _forged(app):
    return tokens.make(tokens.SurveyCode(store_id(app), SURVEY, tokens.expiry_after(30)),
                       secret_key="someone-else")


def _altered(app):
    good, other = token_for(app, "E1"), token_for(app, "W1")
    return other.split(".")[0] + "." + good.split(".")[1]


@pytest.mark.parametrize(("make", "status", "words"), [
    (_forged, 404, "无法识别"),
    (_altered, 404, "无法识别"),
    (lambda app: token_for(app, expires=date.today() - timedelta(days=1)), 410, "已过期"),
    (lambda app: token_for(app, instrument="sales-mystery-shop"), 404, "不再提供"),
    (lambda app: token_for(app, instrument="no-such-survey"), 404, "不再提供"),
    (lambda app: "not-a-token", 404, "无法识别"),
])
def test_bad_codes_get_a_friendly_page_and_a_4xx(client, app, make, status, words):
    form = fields(client.get(f"/s/{token_for(app)}").get_data(as_text=True)) | happy_answers()
    token = make(app)
    for page in (client.get(f"/s/{token}"), client.post(f"/s/{token}", data=form)):
        assert page.status_code == status
        assert words in text_of(page)
        assert "Traceback" not in text_of(page)
    assert qr_responses(app) == 0


def test_a_single_use_code_answers_once(client, app):
    token = single_use_token(app)
    assert answer(client, token).status_code == 303
    back = client.get(f"/s/{token}")  # "back" from the thank-you page: the thank-you page
    assert back.status_code == 303 and "/thanks" in back.headers["Location"]
    client.delete_cookie("tp_answered", path="/s/")  # later, from the same phone
    again = client.get(f"/s/{token}")
    assert again.status_code == 410 and "已被使用" in text_of(again)
    other_phone = app.test_client()
    assert other_phone.get(f"/s/{token}").status_code == 410
    with app.app_context(), new_session() as session:
        row = session.exec(select(SurveyToken)).one()
        assert row.used_at is not None and row.response_id is not None
    assert qr_responses(app) == 1


def test_a_single_use_code_opened_twice_then_sent_twice_stores_once(app):
    token = single_use_token(app)
    first, second = app.test_client(), app.test_client()
    pages = [fields(c.get(f"/s/{token}").get_data(as_text=True)) for c in (first, second)]
    assert first.post(f"/s/{token}", data=pages[0] | happy_answers()).status_code == 303
    late = second.post(f"/s/{token}", data=pages[1] | happy_answers())
    assert late.status_code == 410 and "已被使用" in text_of(late)
    assert qr_responses(app) == 1


def test_a_store_code_limits_repeat_answers_from_one_phone(client, app):
    token = token_for(app)
    assert answer(client, token).status_code == 303
    client.delete_cookie("tp_answered", path="/s/")  # not a "back": a new visit
    repeat = answer(client, token)
    assert repeat.status_code == 429 and "已经回答过" in text_of(repeat)
    assert answer(app.test_client(), token).status_code == 303  # another phone
    assert answer(client, token_for(app, "E2")).status_code == 303  # another store
    assert qr_responses(app) == 3


def test_the_thanks_page_of_an_unknown_answer_is_still_a_thank_you(client, app):
    page = client.get(f"/s/{token_for(app)}/thanks?r=nothing")
    assert page.status_code == 200 and "谢谢" in text_of(page)


def csrf_of(page) -> str:
    return csrf_token(page.get_data(as_text=True))


def test_free_text_is_escaped_for_the_admin_too(client, app, auth):
    answer(app.test_client(), token_for(app), comment='<script>alert("x")</script>')
    auth.as_role("admin")
    page = client.get("/qr/responses")
    assert "<script>alert" not in page.get_data(as_text=True)
    assert '<script>alert("x")</script>' in text_of(page)


FORM_KEYS = st.sampled_from(["a-nps", "a-reception_rating", "a-fixed_first_time", "a-comment",
                             "a-appointment_rating", "phone", "call_back", "a-unknown"])


@given(st.dictionaries(FORM_KEYS, st.text(max_size=30) | st.sampled_from(
    ["0", "5", "10", "na", "yes", "138 0000 0000"]), max_size=8))
def test_any_posted_form_gives_answers_that_validate_or_errors(changes):
    """The form parser never raises: either clean answers the scorer accepts, or errors."""
    from flask import Flask
    from flask_babel import Babel

    from app import survey_forms
    from app.domain.scoring import missing_required, validate_answers

    instrument = next(i for i in _shipped()[1] if i.id == SURVEY)
    flask_app = Flask(__name__)
    Babel(flask_app)
    with flask_app.test_request_context():
        posted = survey_forms.parse(instrument, happy_answers() | changes)
    if posted.ok:
        answers = validate_answers(instrument, posted.raw)
        assert missing_required(instrument, answers) == []
        assert not posted.phone or posted.call_back
    else:
        assert all(isinstance(message, str) and message for message in posted.errors.values())
