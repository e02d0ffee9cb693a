"""Answering a survey from a QR code: which survey a token opens, and storing an answer
exactly once (single-use codes answer once; a device answers a store's code at most
`QR_REPEAT_MAX` times in `QR_REPEAT_HOURS`; a double-submitted page stores once).

Everything of one answer - the response, its scores, the used code, the device mark and a
follow-up case - is written in one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, or_, update
from sqlalchemy import case as sql_case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from . import cases, clock, tokens
from .domain.definitions import Instrument
from .instruments import definition, in_use_id
from .models import (
    FollowUpCase,
    InstrumentVersion,
    Response,
    Store,
    SurveyDeviceAnswer,
    SurveyDeviceClaim,
    SurveyToken,
    SurveyTokenBatch,
    utcnow,
)
from .responses import create_scored_response, find_by_uuid
from .survey_forms import Posted


class Unavailable(Exception):
    """The survey cannot be answered: `reason` is invalid | expired | used | repeat | gone."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    code: tokens.SurveyCode
    store: Store
    version: InstrumentVersion
    instrument: Instrument
    used: bool = False  # a single-use code that has answered already


@dataclass(frozen=True)
class Outcome:
    response: Response
    case: FollowUpCase | None
    duplicate: bool = False


def device_hash(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def resolve(session: Session, token: str, *, allow_used: bool = False) -> Target:
    """The store and active instrument version a token opens, or Unavailable.

    `allow_used`: a used single-use code still resolves (a resubmitted page and the
    thank-you page need it; `submit` claims the code atomically)."""
    try:
        code = tokens.read(token)
    except tokens.TokenError as error:
        raise Unavailable(error.reason) from error
    found = session.exec(_target_query(code.single_use_id is not None), params={
        "store_id": code.store_id, "instrument_id": code.instrument_id, "today": clock.today(),
        "token_id": code.single_use_id}).first()
    store, version = (found[0], found[1]) if found else (None, None)
    if version is not None and version.kind != "customer_survey":
        version = None
    if store is None or not store.active or version is None:
        raise Unavailable("gone")
    used = False
    if code.single_use_id is not None:
        row = found[2]
        if row is None or row.store_id != store.id or row.instrument_id != code.instrument_id:
            raise Unavailable("invalid")
        used = row.used_at is not None
        if used and not allow_used:
            raise Unavailable("used")
    return Target(code, store, version, definition(version), used=used)


@lru_cache(maxsize=2)
def _target_query(single_use: bool):
    """The store, the version in use and the single-use row in one query (every answer
    asks), built once: a statement built per request cost more than running it."""
    query = (select(Store, InstrumentVersion).select_from(Store).outerjoin(
        InstrumentVersion,
        InstrumentVersion.id == in_use_id(bindparam("instrument_id"), bindparam("today")))
        .where(Store.id == bindparam("store_id")))
    if single_use:
        query = query.add_columns(SurveyToken).outerjoin(
            SurveyToken, SurveyToken.id == bindparam("token_id"))
    return query


# the atomic claim of a single-use code (built once, as `_target_query`)
_CLAIM = (update(SurveyToken.__table__)
          .where(SurveyToken.__table__.c.id == bindparam("token_id"),
                 SurveyToken.__table__.c.used_at.is_(None))
          .values(used_at=bindparam("used_at"), response_id=bindparam("response_id")))


def claim_repeat(session: Session, target: Target, device: str, *, hours: int,
                 most: int) -> bool:
    """Claim one of the device's `most` answers to this store's survey in a window of `hours`
    (from its first answer); False when they are used up.

    One conditional UPDATE on the device's row is the whole check: parallel posts from one
    phone queue on that row, and only those that still find room succeed (a count followed by
    an insert let 6 of 10 parallel posts through). Rolled back with the answer on failure."""
    key = (SurveyDeviceClaim.device == device, SurveyDeviceClaim.store_id == target.store.id,
           SurveyDeviceClaim.instrument_id == target.code.instrument_id)
    insert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)
    session.exec(insert(SurveyDeviceClaim).values(
        device=device, store_id=target.store.id, instrument_id=target.code.instrument_id,
        answers=0).on_conflict_do_nothing())
    now = utcnow()
    since = now - timedelta(hours=hours)
    window_over = or_(SurveyDeviceClaim.window_start.is_(None),
                      SurveyDeviceClaim.window_start < since)
    claimed = session.exec(
        update(SurveyDeviceClaim).where(*key)
        .where(or_(window_over, SurveyDeviceClaim.answers < most))
        .values(window_start=sql_case((window_over, now), else_=SurveyDeviceClaim.window_start),
                answers=sql_case((window_over, 1), else_=SurveyDeviceClaim.answers + 1))
    )
    return claimed.rowcount == 1


def submit(session: Session, target: Target, posted: Posted, *, uuid: str, device: str,
           config) -> Outcome:
    """Store one valid answer (the caller has checked `posted.ok`)."""
    single_use = target.code.single_use_id
    # A page sent again finds its answer. An unused single-use code has none to find: a copy
    # sent at the same moment fails on the unique uuid or on the claim below, and is answered
    # as a duplicate from there (one look-up fewer on every answer).
    existing = find_by_uuid(session, uuid) if single_use is None or target.used else None
    if existing is not None:
        return _duplicate(session, existing)
    try:
        if single_use is None and not claim_repeat(
            session, target, device, hours=config["QR_REPEAT_HOURS"],
            most=config["QR_REPEAT_MAX"]
        ):
            session.rollback()
            raise Unavailable("repeat")
        response, _ = create_scored_response(
            session, version=target.version, store=target.store, raw_answers=posted.raw,
            channel="qr", status="submitted", day=date.today(), uuid=uuid,
        )
        if single_use is not None:
            claimed = session.connection().execute(_CLAIM, {
                "token_id": single_use, "used_at": utcnow(), "response_id": response.id})
            if claimed.rowcount != 1:
                session.rollback()
                raise Unavailable("used")
        else:
            session.add(SurveyDeviceAnswer(
                device=device, store_id=target.store.id,
                instrument_id=target.code.instrument_id, response_id=response.id,
            ))
        case = cases.open_if_needed(
            session, response=response, instrument=target.instrument, answers=posted.raw,
            phone=posted.phone, call_back=posted.call_back, due_hours=config["CASE_DUE_HOURS"],
        )
        session.commit()
    except IntegrityError:  # the same page sent twice at once: the other request stored it
        session.rollback()
        existing = find_by_uuid(session, uuid)
        if existing is None:
            raise
        return _duplicate(session, existing)
    return Outcome(response, case)


def _duplicate(session: Session, response: Response) -> Outcome:
    case = session.exec(
        select(FollowUpCase).where(FollowUpCase.response_id == response.id)
    ).first()
    return Outcome(response, case, duplicate=True)


def thanks_state(session: Session, uuid: str, store_id: int) -> FollowUpCase | None:
    """The case opened by this answer, if any (for the thank-you page's wording)."""
    response = find_by_uuid(session, uuid)
    if response is None or response.store_id != store_id:
        return None
    return session.exec(
        select(FollowUpCase).where(FollowUpCase.response_id == response.id)
    ).first()


# --- per-visit codes --------------------------------------------------------------------


def create_batch(session: Session, *, store: Store, instrument_id: str, references: list[str],
                 label: str, user_id: int, days: int) -> SurveyTokenBatch:
    """A sheet of single-use codes, one per order number (or unnamed ones), in one commit."""
    batch = SurveyTokenBatch(
        store_id=store.id, instrument_id=instrument_id, label=label.strip()[:200],
        created_by=user_id, expires_at=datetime.combine(tokens.expiry_after(days), time.max, UTC),
    )
    session.add(batch)
    session.flush()
    session.add_all(
        SurveyToken(batch_id=batch.id, store_id=store.id, instrument_id=instrument_id,
                    reference=reference)
        for reference in references
    )
    session.commit()
    return batch


def batch_codes(session: Session, batch: SurveyTokenBatch) -> list[tuple[SurveyToken, str]]:
    """Each single-use row of a batch with its signed token."""
    expires = cases.as_utc(batch.expires_at).date()
    rows = session.exec(
        select(SurveyToken).where(SurveyToken.batch_id == batch.id).order_by(SurveyToken.id)
    ).all()
    return [
        (row, tokens.make(tokens.SurveyCode(row.store_id, row.instrument_id, expires, row.id)))
        for row in rows
    ]

