"""The shopper's write paths: autosaved drafts and exactly-once submission of a report.

A report is identified by the UUID its phone made. Saving or submitting the same UUID again
never creates a second response; a submission that already went through answers with the stored
result. Once submitted, a report changes only if a reviewer returns it; once approved, never.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .domain.scoring import shown_items
from .instruments import definition
from .models import (
    Assignment,
    InstrumentVersion,
    Photo,
    Response,
    ResponseEvent,
    ResponseEvidence,
    Store,
    utcnow,
)
from .responses import (
    create_scored_response,
    find_by_uuid,
    record_event,
    replace_answers,
    set_status,
)

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
    wanted = {sha for sha in evidence.values() if isinstance(sha, str)}
    # who uploaded each photo, in one query (a checklist carries a photo for many items)
    uploader = dict(session.exec(select(Photo.sha256, Photo.uploaded_by)
                                 .where(Photo.sha256.in_(wanted))).all()) if wanted else {}
    for item_id, sha in evidence.items():
        item = instrument.item(item_id)
        takes_photo = item is not None and (item.evidence != "none" or item.type == "photo")
        if not takes_photo or not isinstance(sha, str) or sha not in uploader \
                or uploader[sha] != user_id:
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


def _first_autosave(session: Session, response: Response) -> None:
    """The first autosave of a draft goes into its history; later ones would only be noise."""
    seen = session.exec(select(ResponseEvent.id).where(
        ResponseEvent.response_id == response.id, ResponseEvent.kind == "autosaved")).first()
    if seen is None:
        record_event(session, response, "autosaved", response.shopper_id)


def latest_response(session: Session, assignment_id: int) -> Response | None:
    return session.exec(
        select(Response).where(Response.assignment_id == assignment_id).order_by(Response.id.desc())
    ).first()


Position = tuple[float, float, float | None]


def _visit(response: Response, visit_start: str | None, visit_end: str | None,
           start: Position | None = None, at_submit: Position | None = None) -> None:
    response.visit_start = visit_start or response.visit_start
    response.visit_end = visit_end or response.visit_end
    if start is not None and response.start_lat is None:  # the first fix is the start
        response.start_lat, response.start_lon, response.start_accuracy = start
    if at_submit is not None:
        response.submit_lat, response.submit_lon, response.submit_accuracy = at_submit


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


CLOCK_SLACK_MINUTES = 5  # a phone's clock may run a little ahead of the server's


def visit_problem(assignment: Assignment, visit_date: date | None, visit_start: str | None,
                  visit_end: str | None, now: datetime) -> str | None:
    """Why the visit's date or times cannot be right (None when they can): the day inside the
    window and not after today, leaving after arriving, and a visit today not ending later
    than now (`now` on the stores' clock)."""
    today = now.date()
    if visit_date is not None and not (
            assignment.window_start <= visit_date <= min(assignment.window_end, today)):
        return "visit_date"
    if visit_start and visit_end and visit_end <= visit_start:
        return "visit_end"
    latest = now + timedelta(minutes=CLOCK_SLACK_MINUTES)
    if visit_date == today and latest.date() == today and any(
            t and t > latest.strftime("%H:%M") for t in (visit_start, visit_end)):
        return "visit_time"
    return None


def _day(response: Response | None, visit_date: date | None) -> date:
    """The visit's day: as the shopper gives it, else as stored, else today."""
    if visit_date is not None:
        return visit_date
    return response.day if response is not None else date.today()


def save_draft(session: Session, *, assignment: Assignment, uuid: str, raw: dict[str, Any],
               visit_start: str | None = None, visit_end: str | None = None,
               evidence: dict[str, str] | None = None,
               visit_date: date | None = None, start: Position | None = None) -> Response:
    """Store the answers given so far (AnswerError on a bad one; nothing stored then)."""
    version = session.get(InstrumentVersion, assignment.instrument_version_id)
    response = _existing(session, assignment, find_by_uuid(session, uuid))
    if response is None:
        store = session.get(Store, assignment.store_id)
        response, _ = create_scored_response(
            session, version=version, store=store, raw_answers=raw, channel="shopper",
            status="draft", day=_day(None, visit_date), uuid=uuid,
            shopper_id=assignment.shopper_id,
            assignment_id=assignment.id,
        )
        record_event(session, response, "created", assignment.shopper_id)
    elif response.status in OPEN:
        response.day = _day(response, visit_date)
        replace_answers(session, response, version, raw)
        _first_autosave(session, response)
    else:
        raise Conflict("already_submitted" if response.status != "approved" else "approved")
    _visit(response, visit_start, visit_end, start)
    _store_evidence(session, response, evidence or {})
    session.add(response)
    try:
        session.commit()
    except IntegrityError:
        # another request made this assignment's one report first (the unique constraint on
        # response.assignment_id): ours becomes a conflict, or an update when it was our UUID
        session.rollback()
        if find_by_uuid(session, uuid) is None:
            raise Conflict("uuid_mismatch") from None
        return save_draft(session, assignment=assignment, uuid=uuid, raw=raw,
                          visit_start=visit_start, visit_end=visit_end, evidence=evidence,
                          visit_date=visit_date, start=start)
    return response


def submit(session: Session, *, assignment: Assignment, uuid: str, raw: dict[str, Any],
           visit_start: str | None = None, visit_end: str | None = None,
           evidence: dict[str, str] | None = None, visit_date: date | None = None,
           start: Position | None = None, at_submit: Position | None = None) -> Outcome:
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
                status="submitted", day=_day(None, visit_date), uuid=uuid,
                shopper_id=assignment.shopper_id, assignment_id=assignment.id,
            )
            record_event(session, response, "created", assignment.shopper_id)
            record_event(session, response, "submitted", assignment.shopper_id)
        else:
            record_event(session, response, "resubmitted" if response.status == "returned"
                         else "submitted", assignment.shopper_id)
            response.day = _day(response, visit_date)
            replace_answers(session, response, version, raw)
            set_status(session, response, "submitted")
            response.submitted_at = utcnow()
            # the visit keeps its day: a report returned and corrected next month still counts
            # for the month of the visit
        _visit(response, visit_start, visit_end, start, at_submit)
        _store_evidence(session, response, evidence or {})
        session.add(response)
        session.commit()
    except IntegrityError:
        # the same UUID arrived twice at once: the other request stored it
        session.rollback()
        stored = find_by_uuid(session, uuid)
        if stored is None or stored.assignment_id != assignment.id:
            # another UUID won the race for this assignment's one report
            raise Conflict("already_submitted") from None
        return Outcome(stored, replay=True)
    return Outcome(response, replay=False)


def instrument_of(session: Session, assignment: Assignment):
    version = session.get(InstrumentVersion, assignment.instrument_version_id)
    return version, definition(version)
