"""The shopper's write paths: autosaved drafts and exactly-once submission of a report.

A report is identified by the UUID its phone made. Saving or submitting the same UUID again
never creates a second response; a submission that already went through answers with the stored
result. Once submitted, a report changes only if a reviewer returns it; once approved, never.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .domain.scoring import shown_items
from .instruments import definition
from .models import Assignment, InstrumentVersion, Photo, Response, ResponseEvidence, Store, utcnow
from .responses import create_scored_response, find_by_uuid, replace_answers, set_status

OPEN = ("draft", "returned")
CLOSED = ("submitted", "approved", "invalid")


class Conflict(Exception):
    """The report cannot change now (already submitted or approved, or a UUID mismatch)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Outcome:
    response: Response
    replay: bool  # True: this UUID was already submitted; nothing was stored


class EvidenceError(ValueError):
    def __init__(self, item_id: str):
        super().__init__(item_id)
        self.item_id = item_id


def photo_answers(instrument, answers: dict[str, Any]) -> dict[str, str]:
    """The photos that photo-type items answer with, by item: they are attached to the response
    like evidence, so that who may see a photo follows the response that holds it."""
    return {item.id: answers[item.id][:64] for item in instrument.items()
            if item.type == "photo" and isinstance(answers.get(item.id), str)
            and answers[item.id] != "na"}


def check_evidence(session: Session, instrument, evidence: dict[str, str], user_id: int) -> None:
    """Every attached photo belongs to an item that takes one and was uploaded by this user."""
    for item_id, sha in evidence.items():
        item = instrument.item(item_id)
        photo = session.get(Photo, sha) if isinstance(sha, str) else None
        takes_photo = item is not None and (item.evidence != "none" or item.type == "photo")
        if not takes_photo or photo is None or photo.uploaded_by != user_id:
            raise EvidenceError(item_id)


def missing_evidence(instrument, answers: dict[str, Any], evidence: dict[str, str]) -> list[str]:
    """Shown items whose evidence is a required photo but have none."""
    return [item.id for item in shown_items(instrument, answers)
            if item.evidence == "photo" and item.id not in evidence]


def _store_evidence(session: Session, response: Response, evidence: dict[str, str]) -> None:
    session.exec(delete(ResponseEvidence).where(ResponseEvidence.response_id == response.id))
    session.add_all(ResponseEvidence(response_id=response.id, item_id=item_id, sha256=sha)
                    for item_id, sha in evidence.items())


def stored_evidence(session: Session, response_id: int) -> dict[str, str]:
    rows = session.exec(select(ResponseEvidence).where(ResponseEvidence.response_id == response_id))
    return {row.item_id: row.sha256 for row in rows}


def latest_response(session: Session, assignment_id: int) -> Response | None:
    return session.exec(
        select(Response).where(Response.assignment_id == assignment_id).order_by(Response.id.desc())
    ).first()


def _visit(response: Response, visit_start: str | None, visit_end: str | None) -> None:
    response.visit_start = visit_start or response.visit_start
    response.visit_end = visit_end or response.visit_end


def _existing(session: Session, assignment: Assignment, response: Response | None) -> Response | None:
    """The open response this UUID belongs to (None: a new one may be made), else Conflict."""
    if response is not None and response.assignment_id != assignment.id:
        raise Conflict("uuid_mismatch")
    if response is None:
        latest = latest_response(session, assignment.id)
        if latest is not None and latest.status in ("submitted", "approved"):
            raise Conflict("already_submitted")
        if latest is not None and latest.status in OPEN:
            raise Conflict("uuid_mismatch")  # another phone holds this report's draft
    return response


def save_draft(session: Session, *, assignment: Assignment, uuid: str, raw: dict[str, Any],
               visit_start: str | None = None, visit_end: str | None = None,
               evidence: dict[str, str] | None = None) -> Response:
    """Store the answers given so far (AnswerError on a bad one; nothing stored then)."""
    version = session.get(InstrumentVersion, assignment.instrument_version_id)
    response = _existing(session, assignment, find_by_uuid(session, uuid))
    if response is None:
        store = session.get(Store, assignment.store_id)
        response, _ = create_scored_response(
            session, version=version, store=store, raw_answers=raw, channel="shopper",
            status="draft", day=date.today(), uuid=uuid, shopper_id=assignment.shopper_id,
            assignment_id=assignment.id,
        )
    elif response.status in OPEN:
        replace_answers(session, response, version, raw)
    else:
        raise Conflict("already_submitted" if response.status != "approved" else "approved")
    _visit(response, visit_start, visit_end)
    _store_evidence(session, response, evidence or {})
    session.add(response)
    session.commit()
    return response


def submit(session: Session, *, assignment: Assignment, uuid: str, raw: dict[str, Any],
           visit_start: str | None = None, visit_end: str | None = None,
           evidence: dict[str, str] | None = None) -> Outcome:
    """Submit once. Replays of a submitted UUID return the stored report unchanged."""
    version = session.get(InstrumentVersion, assignment.instrument_version_id)
    existing = find_by_uuid(session, uuid)
    if existing is not None and existing.assignment_id == assignment.id \
            and existing.status in CLOSED:
        return Outcome(existing, replay=True)
    response = _existing(session, assignment, existing)
    try:
        if response is None:
            store = session.get(Store, assignment.store_id)
            response, _ = create_scored_response(
                session, version=version, store=store, raw_answers=raw, channel="shopper",
                status="submitted", day=date.today(), uuid=uuid,
                shopper_id=assignment.shopper_id, assignment_id=assignment.id,
            )
        else:
            response.day = date.today()  # before re-scoring: the scores carry the day
            replace_answers(session, response, version, raw)
            set_status(session, response, "submitted")
            response.submitted_at = utcnow()
        _visit(response, visit_start, visit_end)
        _store_evidence(session, response, evidence or {})
        session.add(response)
        session.commit()
    except IntegrityError:
        # the same UUID arrived twice at once: the other request stored it
        session.rollback()
        stored = find_by_uuid(session, uuid)
        if stored is None:
            raise
        return Outcome(stored, replay=True)
    return Outcome(response, replay=False)


def instrument_of(session: Session, assignment: Assignment):
    version = session.get(InstrumentVersion, assignment.instrument_version_id)
    return version, definition(version)
