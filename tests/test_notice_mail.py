"""Notices by e-mail, sent to a real SMTP server (aiosmtpd) started by the test: each
manager gets the notices of their scope once; nothing is recorded when the server is down."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from sqlmodel import select

from app.db import new_session
from app.models import NoticeMail, User
from tests.loop_helpers import RED_LINE, add_report, approve


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos,
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(app):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config["MAIL_SERVER"] = f"127.0.0.1:{port}"
    app.config["MAIL_FROM"] = "质量部 <quality@example.com>"
    app.config["PUBLIC_BASE_URL"] = "https://touchpoint.example.com"
    yield inbox
    controller.stop()


@pytest.fixture
def addresses(app):
    with app.app_context(), new_session() as session:
        for name in ("manager", "manager_west", "store_manager", "reviewer", "shopper"):
            user = session.exec(select(User).where(User.username == name)).one()
            user.email = f"{name}@example.com"
            session.add(user)
        session.commit()


def _mail(app):
    return app.test_cli_runner().invoke(args=["notices", "mail"])


def _by_recipient(inbox) -> dict[str, str]:
    return {to[0]: message.get_content() for to, message in inbox.messages}


def test_each_manager_is_mailed_the_notices_of_their_scope_once(app, client, auth, smtp,
                                                                 addresses):
    assert approve(client, auth, add_report(app, answers=RED_LINE)).status_code == 303
    first = _mail(app)
    assert first.exit_code == 0, first.output
    mailed = _by_recipient(smtp)
    assert set(mailed) == {"manager_west@example.com", "store_manager@example.com"}
    body = mailed["store_manager@example.com"]
    assert "成都一店" in body and "红线未通过" in body and "新整改措施" in body
    assert "https://touchpoint.example.com/actions/notices" in body
    subject = smtp.messages[0][1]["Subject"]
    assert "条新通知" in subject
    again = _mail(app)  # cron runs again: nothing new, nothing sent
    assert again.exit_code == 0 and len(smtp.messages) == 2
    add_report(app, store="E1", answers=RED_LINE, status="approved")
    assert approve(client, auth, add_report(app, store="E2", answers=RED_LINE)).status_code == 303
    _mail(app)
    assert [to for to, _m in smtp.messages[2:]] == [["manager@example.com"]]
    assert "杭州一店" in smtp.messages[2][1].get_content()
    assert "成都一店" not in smtp.messages[2][1].get_content()  # another region's


def test_when_the_server_is_down_nothing_is_recorded_and_the_next_run_sends(app, client, auth,
                                                                           smtp, addresses):
    assert approve(client, auth, add_report(app, answers=RED_LINE)).status_code == 303
    working = app.config["MAIL_SERVER"]
    app.config["MAIL_SERVER"] = f"127.0.0.1:{_free_port()}"  # nobody listens there
    failed = _mail(app)
    assert failed.exit_code == 1 and "cannot send through" in failed.output
    with app.app_context(), new_session() as session:
        assert session.exec(select(NoticeMail)).first() is None
    app.config["MAIL_SERVER"] = working
    assert _mail(app).exit_code == 0 and len(smtp.messages) == 2


def test_without_a_mail_server_the_command_says_what_to_set(app):
    app.config["MAIL_SERVER"] = ""
    result = _mail(app)
    assert result.exit_code == 1 and "MAIL_SERVER" in result.output
