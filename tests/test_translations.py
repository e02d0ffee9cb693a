"""Words with two meanings get the right one where they are used (the catalogue itself is
checked in test_language.py)."""

from __future__ import annotations

from tests.loop_helpers import RED_LINE, add_report, approve
from tests.test_dashboard import text_of


def test_an_open_action_reads_as_a_status_not_as_a_link(app, client, auth):
    """"Open" is a link ("查看") in lists of reports and a status ("待处理") of an action."""
    assert approve(client, auth, add_report(app, answers=RED_LINE)).status_code == 303
    auth.as_role("manager_west")
    counts = text_of(client.get("/actions/"))
    assert "待处理" in counts and "区域 查看" not in counts
