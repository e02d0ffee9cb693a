"""Reviewers approve a submitted report (then it counts) or return it with a comment; a
report or a customer's answer may be marked invalid (it then counts nowhere) and counted
again. Each step goes into the response's history with who and when."""

from __future__ import annotations

from sqlmodel import Session, select

from . import actions
from .models import (
    ActionPhoto,
    Appeal,
    AppealItem,
    CorrectiveAction,
    Photo,
    Response,
    ResponseEvent,
    ResponseEvidence,
    User,
    utcnow,
)
from .responses import record_event, set_status
from .scope import visible_store_ids


class NotReviewable(Exception):
    pass


# what can be marked invalid: a report the reviewer has (or had) in hand, a customer's answer
MAY_INVALIDATE = ("submitted", "approved")


def mark_invalid(session: Session, response: Response, user: User, reason: str = "") -> None:
    """The response counts nowhere from now on (a made-up visit, a duplicate, abuse); its
    answers stay, and the history says who did it, when and why."""
    if response.status not in MAY_INVALIDATE:
        raise NotReviewable(response.status)
    set_status(session, response, "invalid")
    record_event(session, response, "invalid", user.id, reason.strip())
    session.commit()


def mark_valid(session: Session, response: Response, user: User, reason: str = "") -> None:
    """Undo an invalid mark: the response takes back the status it had before."""
    if response.status != "invalid":
        raise NotReviewable(response.status)
    set_status(session, response, status_before_invalid(session, response))
    record_event(session, response, "valid", user.id, reason.strip())
    session.commit()


def status_before_invalid(session: Session, response: Response) -> str:
    """approved when the last decision before the mark was an approval, else submitted (a
    customer's answer, or a report still waiting for review)."""
    kinds = session.exec(select(ResponseEvent.kind).where(
        ResponseEvent.response_id == response.id).order_by(ResponseEvent.id.desc())).all()
    steps = [k for k in kinds if k in ("approved", "returned", "submitted", "resubmitted")]
    return "approved" if steps and steps[0] == "approved" else "submitted"



def decide(session: Session, response: Response, reviewer: User, *, approve: bool,
           comment: str = "", settings: actions.Settings | None = None) -> None:
    """Only a submitted report can be decided; an approved one is final.

    An approval counts the report and, in the same transaction, opens the corrective actions
    it calls for: one per failed red line, and one per touchpoint of the store that is now
    clearly below target two months running (`settings` None: none opened)."""
    if response.kind != "mystery_shop" or response.status != "submitted":
        raise NotReviewable(response.status)
    set_status(session, response, "approved" if approve else "returned")
    response.review_comment = comment.strip()
    response.reviewed_by = reviewer.id
    response.reviewed_at = utcnow()
    session.add(response)
    record_event(session, response, "approved" if approve else "returned", reviewer.id,
                 comment.strip())
    if approve and settings is not None:
        session.flush()
        actions.open_for_red_lines(session, settings=settings, response=response)
        actions.open_for_targets(session, settings=settings, month=response.day,
                                 store_ids={response.store_id})
    session.commit()


def may_see_photo(session: Session, user: User, sha256: str) -> bool:
    """Admins and reviewers see every photo; a shopper their own; a manager those attached to
    responses of stores in scope."""
    photo = session.get(Photo, sha256)
    if photo is None:
        return False
    if user.role in ("admin", "reviewer"):
        return True
    if user.role == "shopper":
        return photo.uploaded_by == user.id
    stores = visible_store_ids(session, user)
    if not stores:
        return False
    # only through a response that references the photo (evidence or a photo item, both
    # recorded in response_evidence): a text answer that happens to equal the hash is no key
    used_in = (
        select(Response.id)
        .join(ResponseEvidence, ResponseEvidence.response_id == Response.id)
        .where(Response.store_id.in_(stores), ResponseEvidence.sha256 == sha256)
        .limit(1)
    )
    if session.exec(used_in).first() is not None:
        return True
    fixes = (select(ActionPhoto.action_id)
             .join(CorrectiveAction, CorrectiveAction.id == ActionPhoto.action_id)
             .where(ActionPhoto.sha256 == sha256, CorrectiveAction.store_id.in_(stores)).limit(1))
    appealed = (select(AppealItem.id).join(Appeal, Appeal.id == AppealItem.appeal_id)
                .where(AppealItem.sha256 == sha256, Appeal.store_id.in_(stores)).limit(1))
    return (session.exec(fixes).first() is not None
            or session.exec(appealed).first() is not None)
