"""Reviewers approve a submitted report (then it counts) or return it with a comment."""

from __future__ import annotations

import json

from sqlalchemy import or_
from sqlmodel import Session, select

from .models import Answer, Photo, Response, ResponseEvidence, User, utcnow
from .responses import record_event, set_status
from .scope import visible_store_ids


class NotReviewable(Exception):
    pass


def decide(session: Session, response: Response, reviewer: User, *, approve: bool,
           comment: str = "") -> None:
    """Only a submitted report can be decided; an approved one is final."""
    if response.kind != "mystery_shop" or response.status != "submitted":
        raise NotReviewable(response.status)
    set_status(session, response, "approved" if approve else "returned")
    response.review_comment = comment.strip()
    response.reviewed_by = reviewer.id
    response.reviewed_at = utcnow()
    session.add(response)
    record_event(session, response, "approved" if approve else "returned", reviewer.id,
                 comment.strip())
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
    used_in = (
        select(Response.id)
        .outerjoin(ResponseEvidence, ResponseEvidence.response_id == Response.id)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.store_id.in_(stores))
        .where(or_(ResponseEvidence.sha256 == sha256, Answer.value == json.dumps(sha256)))
        .limit(1)
    )
    return session.exec(used_in).first() is not None
