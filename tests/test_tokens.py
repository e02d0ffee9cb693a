"""Survey tokens: what a QR code carries. Forged, altered and expired tokens are refused;
reading any text either gives a code or a TokenError, never anything else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import tokens
from app.tokens import SurveyCode, TokenError

KEY = "test"
TODAY = date(2025, 6, 1)


def make(code: SurveyCode, key: str = KEY) -> str:
    return tokens.make(code, secret_key=key)


def read(token: str, today: date = TODAY) -> SurveyCode:
    return tokens.read(token, today=today, secret_key=KEY)


@pytest.mark.parametrize("code", [
    SurveyCode(1, "sales-customer-survey", TODAY),
    SurveyCode(42, "aftersales-customer-survey", TODAY + timedelta(days=700), single_use_id=9),
])
def test_a_token_reads_back_as_its_code(code):
    assert read(make(code)) == code


def test_a_token_is_short_enough_for_a_small_qr_code():
    token = make(SurveyCode(12345, "aftersales-customer-survey", TODAY, single_use_id=99999))
    assert len(token) < 120


def test_forged_token_signed_with_another_key_is_invalid():
    forged = make(SurveyCode(1, "sales-customer-survey", TODAY), key="not-our-key")
    with pytest.raises(TokenError) as error:
        read(forged)
    assert error.value.reason == "invalid"


def test_altered_payload_is_invalid():
    """Pointing a valid signature at another store fails the check."""
    genuine = make(SurveyCode(1, "sales-customer-survey", TODAY))
    other = make(SurveyCode(2, "sales-customer-survey", TODAY))
    altered = other.split(".")[0] + "." + genuine.split(".")[1]
    with pytest.raises(TokenError) as error:
        read(altered)
    assert error.value.reason == "invalid"


@pytest.mark.parametrize("position", [0, 5, -3])
def test_one_changed_character_is_invalid(position):
    token = make(SurveyCode(1, "sales-customer-survey", TODAY))
    index = position % len(token)
    changed = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1:]
    with pytest.raises(TokenError):
        read(changed)


def test_expired_token_is_refused_the_day_after_its_expiry():
    token = make(SurveyCode(1, "sales-customer-survey", TODAY))
    assert read(token, today=TODAY).store_id == 1  # valid through its last day
    with pytest.raises(TokenError) as error:
        read(token, today=TODAY + timedelta(days=1))
    assert error.value.reason == "expired"


@pytest.mark.parametrize("payload", [
    {"s": 1}, [1, "x"], [1, 2, 3], ["1", "x", 3], [1, "x", 3, 4, 5], [True, "x", 3],
    [-1, "x", 3], [1, "x", 3.5],
])
def test_well_signed_but_malformed_payloads_are_invalid(payload):
    from itsdangerous import URLSafeSerializer

    token = URLSafeSerializer(KEY, salt="survey-token-v1").dumps(payload)
    with pytest.raises(TokenError) as error:
        read(token)
    assert error.value.reason == "invalid"


@given(st.text(max_size=400))
def test_reading_any_text_gives_a_code_or_a_token_error(text):
    try:
        code = read(text)
    except TokenError as error:
        assert error.reason in ("invalid", "expired")
    else:
        assert isinstance(code, SurveyCode)
