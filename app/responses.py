"""Storing a response: validate, score and write it with its answers and touchpoint scores
in one transaction. Every channel (shopper, QR survey, demo data) goes through here, so the
stored scores are always those of the scoring module, and every change of what counts
(creation, re-scoring, status changes) updates the summaries (`summaries.py`) in the same
transaction."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, or_, update
from sqlmodel import Session, select

from . import summaries
from .domain.definitions import Instrument
from .domain.scoring import ScoreResult, score, validate_answers
from .instruments import definition
from .models import (
    Answer,
    InstrumentVersion,
    Response,
    ResponseEvent,
    Store,
    TouchpointScore,
    utcnow,
)

SCORE_COLUMNS = ("touchpoint_id", "store_id", "region_id", "day", "kind", "stage", "score",
                 "critical_failed", "outcome")


def counts(kind: str, status: str) -> bool:
    """Only approved mystery shops count; a customer survey counts once submitted."""
    if kind == "mystery_shop":
        return status == "approved"
    return status in ("submitted", "approved")


def counted_sql(kind, status):
    """`counts` as an SQL condition on a kind and a status column."""
    return or_(and_(kind == "mystery_shop", status == "approved"),
               and_(kind != "mystery_shop", status.in_(("submitted", "approved"))))


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
    _store_answers(session, response, version, answers, replace=False, result=result)
    return response, result


def replace_answers(
    session: Session, response: Response, version: InstrumentVersion, raw_answers: dict[str, Any]
) -> ScoreResult:
    """Validate and store a new set of answers for an existing response, re-scoring it."""
    answers = validate_answers(definition(version), raw_answers)
    return _store_answers(session, response, version, answers, replace=True)


def outcome_value(instrument: Instrument, answers: dict[str, Any]) -> float | None:
    """The answer to a customer survey's numeric outcome item (importance pairs it with each
    touchpoint score), or None."""
    item = instrument.item(instrument.outcome) if instrument.outcome else None
    if item is None or item.type not in ("scale", "nps", "number"):
        return None
    value = answers.get(item.id)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _store_answers(session, response, version, answers, *, replace: bool,
                   result: ScoreResult | None = None) -> ScoreResult:
    instrument = definition(version)
    result = result or score(instrument, answers)
    outcome = outcome_value(instrument, answers) if version.kind == "customer_survey" else None
    counted = counts(version.kind, response.status)
    if replace:  # what counted until now (the overall score before it changes below)
        summaries.retract(session, response.id, _overall_cell(response) if counted else None)
        session.exec(delete(Answer).where(Answer.response_id == response.id))
        session.exec(delete(TouchpointScore).where(TouchpointScore.response_id == response.id))
    if response.overall != result.overall:
        response.overall = result.overall
        session.add(response)
    scores = [
        (tp, response.store_id, response.region_id, response.day, version.kind, version.stage,
         value, tp in result.critical_failed, outcome)
        for tp, value in result.touchpoints.items() if value is not None
    ]
    writes = tuple(part for part in (_answers_part(response.id, answers),
                                     _scores_part(response, scores, counted)) if part)
    # the summaries from the rows in hand (no read back of what was just written), sent with
    # the answers and scores: one statement on PostgreSQL
    summaries.apply_rows(session, scores if counted else (), before=writes,
                         overall=_overall_cell(response) if counted else None)
    return result


def _overall_cell(response: Response) -> tuple | None:
    """The response's overall score for `summary_store_overall` (None: it has none)."""
    if response.overall is None:
        return None
    return (response.kind, response.stage, response.day, response.store_id, response.region_id,
            float(response.overall))


def _answers_part(response_id: int, answers: dict[str, Any]) -> summaries.Part | None:
    if not answers:
        return None
    items = list(answers)
    values = [json.dumps(value, ensure_ascii=False) for value in answers.values()]

    def run(session):  # Core: no ORM objects are needed for these rows
        session.connection().execute(Answer.__table__.insert(), [
            {"response_id": response_id, "item_id": item, "value": value}
            for item, value in zip(items, values, strict=True)])

    return summaries.Part(
        "answers", "INSERT INTO answer (response_id, item_id, value) "
        "SELECT %s, * FROM unnest(%s::varchar[], %s::text[])",
        (response_id, items, values), run)


def _scores_part(response: Response, scores: list[tuple], counted: bool) -> summaries.Part | None:
    if not scores:
        return None

    def run(session):
        session.connection().execute(TouchpointScore.__table__.insert(), [
            dict(zip(SCORE_COLUMNS, row, strict=True)) | {"response_id": response.id,
                                                          "counted": counted}
            for row in scores])

    first = scores[0]  # store, region, day, kind, stage and outcome are the response's
    return summaries.Part(
        "scores", "INSERT INTO touchpoint_score (response_id, store_id, region_id, day, kind, "
        "stage, outcome, counted, touchpoint_id, score, critical_failed) "
        "SELECT %s, %s, %s, %s, %s, %s, %s::float8, %s, * "
        "FROM unnest(%s::varchar[], %s::float8[], %s::boolean[])",
        (response.id, *first[1:6], first[8], counted, [row[0] for row in scores],
         [float(row[6]) for row in scores], [bool(row[7]) for row in scores]), run)


def set_status(session: Session, response: Response, status: str) -> None:
    """Change a response's status, whether its touchpoint scores count and the summaries,
    together (the caller commits)."""
    was, now = counts(response.kind, response.status), counts(response.kind, status)
    response.status = status
    session.add(response)
    if was == now:
        return
    if was:
        summaries.retract(session, response.id, _overall_cell(response))
    session.exec(
        update(TouchpointScore)
        .where(TouchpointScore.response_id == response.id)
        .values(counted=now)
    )
    if now:
        summaries.add(session, response.id, _overall_cell(response))


def stored_answers(session: Session, response_id: int) -> dict[str, Any]:
    rows = session.exec(select(Answer).where(Answer.response_id == response_id))
    return {row.item_id: json.loads(row.value) for row in rows}


def stored_scores(session: Session, response_id: int) -> dict[str, tuple[float, bool]]:
    rows = session.exec(select(TouchpointScore).where(TouchpointScore.response_id == response_id))
    return {row.touchpoint_id: (row.score, row.critical_failed) for row in rows}


def record_event(session: Session, response: Response, kind: str, actor_id: int | None,
                 comment: str = "") -> None:
    """Add a step to the response's history (never changed afterwards); the caller commits."""
    session.add(ResponseEvent(response_id=response.id, kind=kind, actor_id=actor_id,
                              comment=comment))


def history(session: Session, response_id: int) -> list[tuple[ResponseEvent, str | None]]:
    """(event, who) oldest first."""
    from .models import User

    query = (select(ResponseEvent, User.display_name, User.username)
             .outerjoin(User, User.id == ResponseEvent.actor_id)
             .where(ResponseEvent.response_id == response_id).order_by(ResponseEvent.id))
    return [(event, name or username) for event, name, username in session.exec(query)]
