"""Notices by e-mail (seed 003: 通知改进, 保持压力): `flask notices mail`, run from cron, sends
each active manager and admin with an e-mail address one message listing the notices in
their scope that they have not been mailed yet (app/notices.py computes them).

Nothing doubled, nothing lost: what was sent is recorded per user and notice (`notice_mail`)
after the server accepted the message, so a second run sends nothing new; a message the
server refused records nothing and goes out on the next run.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from flask import render_template
from flask_babel import force_locale
from sqlmodel import Session, select

from . import notices
from .models import NoticeMail, User, utcnow
from .scope import visible_store_ids


class MailError(RuntimeError):
    """The mail server could not be reached or refused to send (the message says which)."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    base_url: str = ""  # links in the message (PUBLIC_BASE_URL)

    @classmethod
    def of(cls, config) -> MailSettings | None:
        """None without MAIL_SERVER; `host[:port]` (port 25 by default)."""
        server = (config.get("MAIL_SERVER") or "").strip()
        if not server:
            return None
        host, _, port = server.rpartition(":") if ":" in server else (server, "", "25")
        return cls(host, int(port), config["MAIL_FROM"], config.get("MAIL_USERNAME", ""),
                   config.get("MAIL_PASSWORD", ""), bool(config.get("MAIL_STARTTLS")),
                   (config.get("PUBLIC_BASE_URL") or "").rstrip("/"))


def notice_key(notice: notices.Notice) -> str:
    """What makes a notice new: an action's due-date notices again after a new due date
    (a reopened action), a round's once."""
    if notice.kind in ("due_soon", "overdue"):
        return f"{notice.kind}:{notice.action_id}:{notice.at:%Y-%m-%d}"
    if notice.kind == "red_line":
        return f"red_line:{notice.response_id}:{notice.touchpoint.id}"
    ref = notice.action_id or notice.appeal_id or (notice.round.id if notice.round else 0)
    return f"{notice.kind}:{ref}"


def _recipients(session: Session) -> list[User]:
    users = session.exec(select(User).where(User.active, User.role.in_(("admin", "manager")),
                                            User.email != "").order_by(User.id))
    return [u for u in users if "@" in parseaddr(u.email)[1] and "\n" not in u.email]


def digest(user: User, fresh: list[notices.Notice], settings: MailSettings) -> EmailMessage:
    with force_locale("zh"):
        body = render_template("notices/mail.txt", user=user, notices=fresh,
                               link=f"{settings.base_url}/actions/notices"
                               if settings.base_url else "")
        subject = render_template("notices/mail_subject.txt", count=len(fresh)).strip()
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = formataddr((user.display_name or user.username, parseaddr(user.email)[1]))
    message.set_content(body)
    return message


def send_digests(session: Session, settings: MailSettings) -> int:
    """Mail every recipient their new notices; the number of messages sent."""
    sent = 0
    server: smtplib.SMTP | None = None
    try:
        for user in _recipients(session):
            found = notices.for_scope(session, visible_store_ids(session, user))
            done = set(session.exec(select(NoticeMail.key).where(NoticeMail.user_id == user.id)))
            fresh = [n for n in found if notice_key(n) not in done]
            if not fresh:
                continue
            if server is None:
                server = _connect(settings)
            try:
                server.send_message(digest(user, fresh, settings))
            except smtplib.SMTPException as error:
                raise MailError(f"{settings.host}:{settings.port} refused the message to "
                                f"{user.username}: {error}") from error
            now = utcnow()
            session.add_all(NoticeMail(user_id=user.id, key=key, sent_at=now)
                            for key in dict.fromkeys(notice_key(n) for n in fresh))
            session.commit()
            sent += 1
    finally:
        if server is not None:
            try:
                server.quit()
            except smtplib.SMTPException:
                pass
    return sent


def _connect(settings: MailSettings) -> smtplib.SMTP:
    try:
        server = smtplib.SMTP(settings.host, settings.port, timeout=30)
        if settings.starttls:
            server.starttls()
        if settings.username:
            server.login(settings.username, settings.password)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"cannot send through {settings.host}:{settings.port}: {error}") \
            from error
    return server
