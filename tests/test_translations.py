"""The zh catalogue compiles cleanly and words with two meanings get the right one where
they are used."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.factories import ROOT
from tests.loop_helpers import RED_LINE, add_report, approve
from tests.test_dashboard import text_of

CATALOGUE = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def test_every_message_is_defined_once():
    if shutil.which("msgfmt") is None:
        pytest.fail("msgfmt is missing: install gettext")
    checked = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(CATALOGUE)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_an_open_action_reads_as_a_status_not_as_a_link(app, client, auth):
    """"Open" is a link ("查看") in lists of reports and a status ("待处理") of an action."""
    assert approve(client, auth, add_report(app, answers=RED_LINE)).status_code == 303
    auth.as_role("manager_west")
    counts = text_of(client.get("/actions/"))
    assert "待处理" in counts and "区域 查看" not in counts
