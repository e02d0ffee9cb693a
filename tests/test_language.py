"""Logged-in pages follow the browser's language until the user picks one (issue 9)."""

import pytest


@pytest.mark.parametrize(("accept", "expected", "absent"), [
    ("en-US,en;q=0.9", "My assignments", "我的暗访任务"),
    ("zh-CN,zh;q=0.9", "我的暗访任务", "My assignments"),
    ("fr-FR", "我的暗访任务", "My assignments"),  # neither: Chinese
])
def test_logged_in_pages_follow_the_browser_language(client, auth, accept, expected, absent):
    auth.as_role("shopper")
    page = client.get("/shopper/", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert expected in page and absent not in page


def test_a_language_picked_by_the_user_wins_over_the_browser(client, auth):
    auth.as_role("shopper")
    client.get("/lang/zh")
    page = client.get("/shopper/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "我的暗访任务" in page


def test_every_message_is_translated_once():
    """A msgid listed twice (same context) makes `msgfmt --check` fail and one of the two
    translations silently wins: a word meaning two things needs a context (pgettext)."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    path = Path(__file__).parent.parent / "app/translations/zh/LC_MESSAGES/messages.po"
    keys, context, msgid = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgctxt "):
            context = line[8:]
        elif line.startswith("msgid "):
            msgid = line[6:]
        elif line.startswith("msgstr ") and msgid not in (None, '""'):
            keys.append((context, msgid))
            context = msgid = None
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert duplicates == []
    with path.open("rb") as handle:
        catalog = read_po(handle)
    assert not [m.id for m in catalog if m.id and not m.string]  # nothing left untranslated
