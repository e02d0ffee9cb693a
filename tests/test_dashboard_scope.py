"""Scope security: every dashboard, drill-down and export route, asked for another region's
data or with altered filters, answers 403 or 404 and shows nothing of that data."""

from __future__ import annotations

import pytest

from tests.test_dashboard import seed_responses

ITEM = "/manager/tp/greeting/items/self_introduced"
ROUTES = [
    "/manager/", "/manager/league?tp=greeting", "/manager/heatmap", "/manager/trends",
    "/manager/tp/greeting", ITEM, "/manager/export/ranking.csv", "/manager/export/ranking.xlsx",
    "/manager/export/responses.csv", "/manager/export/responses.xlsx",
]


NAMES = {"E1": "上海一店", "E2": "杭州一店", "W1": "成都一店", "W2": "重庆一店"}


def fetch(client, url: str):
    """GET and close (a streamed export keeps its request, and its database session, open
    until closed, as a WSGI server would do)."""
    page = client.get(url)
    page.get_data()
    page.close()
    return page


def _with(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}"


@pytest.fixture
def seeded(app):
    small = {"E1": (2, 1, {}), "E2": (1, 1, {}), "W1": (2, 1, {}), "W2": (1, 0, {})}
    return seed_responses(app, small)


# (user, filter) -> status on every route
CASES = [
    ("manager", "region=west", 403),
    ("manager", "store=W1", 404),
    ("manager", "store=W2&region=east", 404),
    ("manager", "region=nowhere", 404),
    ("manager", "store=NOPE", 404),
    ("manager_west", "region=east", 403),
    ("manager_west", "store=E1", 404),
    ("store_manager", "region=west", 403),  # W1's manager may not widen to W2
    ("store_manager", "store=W2", 404),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("user, query, status", CASES)
def test_other_scopes_are_refused_on_every_route(client, auth, seeded, route, user, query,
                                                 status):
    auth.as_role(user)
    page = fetch(client, _with(route, query))
    assert page.status_code == status
    body = page.get_data(as_text=True)
    for name in NAMES.values():  # no store of any region on an error page
        assert name not in body


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("user, status", [("shopper", 403), ("reviewer", 403)])
def test_other_roles_are_refused(client, auth, seeded, route, user, status):
    auth.as_role(user)
    assert fetch(client, route).status_code == status


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_is_sent_to_login(client, route):
    page = fetch(client, route)
    assert page.status_code == 302 and "/login" in page.headers["Location"]


@pytest.mark.parametrize("route", ROUTES)
def test_own_scope_works_and_shows_no_other_store(client, auth, seeded, route):
    auth.as_role("manager")
    page = fetch(client, route)
    assert page.status_code == 200
    body = page.get_data(as_text=True) if "xlsx" not in route else ""
    assert NAMES["W1"] not in body and NAMES["W2"] not in body
    auth.as_role("store_manager")
    page = fetch(client, route)
    assert page.status_code == 200
    if "xlsx" not in route:
        body = page.get_data(as_text=True)
        assert NAMES["E1"] not in body and NAMES["W2"] not in body


@pytest.mark.parametrize("user, store, status", [
    ("manager", "W1", 404), ("manager_west", "E1", 404), ("store_manager", "W2", 404),
    ("manager", "E1", 200), ("store_manager", "W1", 200), ("admin", "W2", 200),
])
def test_one_response_only_within_scope(client, auth, seeded, user, store, status):
    auth.as_role(user)
    rid = seeded[store]
    assert fetch(client, f"/manager/r/{rid}").status_code == status
    # altering the filter to the response's store does not open it either
    expected = status if status == 200 else 404
    assert fetch(client, f"/manager/r/{rid}?store={store}").status_code == expected


def test_admin_sees_the_whole_network_and_any_region(client, auth, seeded):
    auth.as_role("admin")
    assert fetch(client, "/manager/?region=west").status_code == 200
    body = fetch(client, "/manager/league?tp=test_drive").get_data(as_text=True)
    assert "W1" in body and "E1" in body
