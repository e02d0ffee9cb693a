"""Login sessions kept in the database, so every app process (one machine or several) agrees
on who is logged in: a logout or a password change on one ends the session on all of them.

The session cookie (signed by Flask) carries a random token; the table holds its SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from .cases import as_utc
from .models import UserSession, utcnow

# last_seen_at is written at most this often: a request is a read, not a write
TOUCH_EVERY = timedelta(minutes=5)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user_id: int) -> str:
    """A new session for the user (committed); the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(id=_key(token), user_id=user_id))
    session.commit()
    return token


def is_valid(session: Session, engine: Engine, token: str | None, *, user_id: int,
             idle: timedelta, now: datetime | None = None) -> bool:
    """Does this token belong to a live session of the user? An idle one is ended here."""
    if not isinstance(token, str) or not token:
        return False
    now = now or utcnow()
    row = session.get(UserSession, _key(token))
    if row is None or row.user_id != user_id:
        return False
    last_seen = as_utc(row.last_seen_at)
    expired = now - last_seen > idle
    if expired or now - last_seen > TOUCH_EVERY:
        # on its own connection: the request's session may hold the view's unfinished work
        with engine.begin() as connection:
            if expired:
                connection.execute(delete(UserSession).where(UserSession.id == row.id))
            else:
                connection.execute(update(UserSession).where(UserSession.id == row.id)
                                   .values(last_seen_at=now))
    return not expired


def end(session: Session, token: str | None) -> None:
    if isinstance(token, str) and token:
        session.exec(delete(UserSession).where(UserSession.id == _key(token)))
        session.commit()


def end_all(session: Session, user_id: int) -> int:
    """End every session of a user (password changed, account disabled); how many ended.
    The caller commits, together with the change that made it necessary."""
    result = session.exec(delete(UserSession).where(UserSession.user_id == user_id))
    return result.rowcount
