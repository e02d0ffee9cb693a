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
