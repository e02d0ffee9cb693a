"""Signed survey tokens: what a QR code points at.

A token carries the store, the instrument slug (the survey always shows that instrument's
active version), an expiry and, for per-visit codes, the id of a single-use `SurveyToken` row.
It is signed with the app's SECRET_KEY (itsdangerous, HMAC): a forged or altered token fails
the signature check; nothing in it is secret, only unforgeable.

Payload (compact JSON, so the QR code stays small): `[store_id, instrument_id, expiry_day,
single_use_id]`, expiry as days since the epoch (UTC), the code works until the end of that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "survey-token-v1"
_EPOCH = date(1970, 1, 1)


class TokenError(ValueError):
    """`reason` is "invalid" (forged, altered, unreadable) or "expired"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SurveyCode:
    store_id: int
    instrument_id: str
    expires: date
    single_use_id: int | None = None


def _serializer(secret_key: str | None = None) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key or current_app.config["SECRET_KEY"], salt=_SALT)


def make(code: SurveyCode, *, secret_key: str | None = None) -> str:
    payload = [code.store_id, code.instrument_id, (code.expires - _EPOCH).days]
    if code.single_use_id is not None:
        payload.append(code.single_use_id)
    return _serializer(secret_key).dumps(payload)


def read(token: str, *, today: date | None = None, secret_key: str | None = None) -> SurveyCode:
    """The code a token stands for; TokenError when it is not ours or no longer valid."""
    if not token or len(token) > 300:
        raise TokenError("invalid")
    try:
        payload = _serializer(secret_key).loads(token)
    except BadSignature as error:
        raise TokenError("invalid") from error
    if not _well_formed(payload):
        raise TokenError("invalid")
    code = SurveyCode(
        store_id=payload[0],
        instrument_id=payload[1],
        expires=_EPOCH + timedelta(days=payload[2]),
        single_use_id=payload[3] if len(payload) == 4 else None,
    )
    if code.expires < (today or datetime.now(UTC).date()):
        raise TokenError("expired")
    return code


def _well_formed(payload) -> bool:
    if not isinstance(payload, list) or len(payload) not in (3, 4):
        return False
    ints = [payload[0], payload[2], *payload[3:]]
    return isinstance(payload[1], str) and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10**9 for v in ints
    )


def expiry_after(days: int, *, today: date | None = None) -> date:
    return (today or datetime.now(UTC).date()) + timedelta(days=days)
