"""Storing a response: validate, score and write it with its answers and touchpoint scores
in one transaction. Every channel (shopper, QR survey, demo data) goes through here, so the
stored scores are always those of the scoring module."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from .domain.scoring import ScoreResult, score, validate_answers
from .instruments import definition
from .models import Answer, InstrumentVersion, Response, Store, TouchpointScore, utcnow


def counts(kind: str, status: str) -> bool:
    """Only approved mystery shops count; a customer survey counts once submitted."""
    if kind == "mystery_shop":
        return status == "approved"
    return status in ("submitted", "approved")


def find_by_uuid(session: Session, uuid: str) -> Response | None:
    return session.exec(select(Response).where(Response.uuid == uuid)).first()


def create_scored_response(
    session: Session,
    *,
    version: InstrumentVersion,
    store: Store,
    raw_answers: dict[str, Any],
    channel: str,
    status: str,
    day: date,
    uuid: str | None = None,
    shopper_id: int | None = None,
    assignment_id: int | None = None,
    submitted_at: datetime | None = None,
) -> tuple[Response, ScoreResult]:
    """Validate (AnswerError on bad input, nothing stored), score, and add everything.

    The caller commits; a failure before commit leaves nothing behind.
    """
    instrument = definition(version)
    answers = validate_answers(instrument, raw_answers)
    result = score(instrument, answers)
    response = Response(
        instrument_version_id=version.id,
        kind=version.kind,
        stage=version.stage,
        channel=channel,
        status=status,
        store_id=store.id,
        region_id=store.region_id,
        assignment_id=assignment_id,
        shopper_id=shopper_id,
        day=day,
        overall=result.overall,
        submitted_at=submitted_at or (utcnow() if status != "draft" else None),
    )
    if uuid:
        response.uuid = uuid
    session.add(response)
    session.flush()
    session.add_all(
        Answer(response_id=response.id, item_id=item_id, value=json.dumps(value, ensure_ascii=False))
        for item_id, value in answers.items()
    )
    counted = counts(version.kind, status)
    session.add_all(
        TouchpointScore(
            response_id=response.id,
            touchpoint_id=tp,
            store_id=store.id,
            region_id=store.region_id,
            day=day,
            kind=version.kind,
            stage=version.stage,
            score=value,
            critical_failed=tp in result.critical_failed,
            counted=counted,
        )
        for tp, value in result.touchpoints.items()
        if value is not None
    )
    return response, result
