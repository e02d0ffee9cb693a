"""Nested regions: a manager of a large region sees every region and store below it; a
manager of a sibling or of a sub-region does not see beyond their own part."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.db import new_session
from app.models import ManagerRegion, Region, Store, User
from app.scope import visible_store_ids
from tests.factories import password_hash


@pytest.fixture
def nested(app):
    """brand > north (large region) > bj, tj; each with a store. Managers: `big` (north, any
    depth below), `bj_boss` (bj only); the west manager of the base network is a sibling."""
    with app.app_context(), new_session() as session:
        brand = Region(code="brand", name="品牌")
        session.add(brand)
        session.flush()
        north = Region(code="north", name="北方大区", parent_id=brand.id)
        session.add(north)
        session.flush()
        bj = Region(code="bj", name="北京区", parent_id=north.id)
        tj = Region(code="tj", name="天津区", parent_id=north.id)
        session.add_all([bj, tj])
        session.flush()
        session.add_all([Store(code="B1", name="北京一店", region_id=bj.id),
                         Store(code="T1", name="天津一店", region_id=tj.id)])
        big = User(username="big", role="manager", password_hash=password_hash())
        boss = User(username="bj_boss", role="manager", password_hash=password_hash(),
                    region_id=bj.id)
        session.add_all([big, boss])
        session.flush()
        session.add(ManagerRegion(user_id=big.id, region_id=north.id))
        session.commit()
    return app


def _codes(app, username):
    with app.app_context(), new_session() as session:
        user = session.exec(select(User).where(User.username == username)).one()
        ids = visible_store_ids(session, user)
        return None if ids is None else sorted(
            session.exec(select(Store.code).where(Store.id.in_(ids or {-1}))))


def test_visible_stores_follow_the_tree(nested):
    assert _codes(nested, "big") == ["B1", "T1"]
    assert _codes(nested, "bj_boss") == ["B1"]
    assert _codes(nested, "manager_west") == ["W1", "W2"]  # existing rules hold
    assert _codes(nested, "store_manager") == ["W1"]


@pytest.mark.parametrize("user, query, status", [
    ("big", "store=B1", 200),          # a sub-region's store
    ("big", "region=tj", 200),         # a sub-region
    ("big", "region=north", 200),      # their own large region
    ("big", "region=west", 403),
    ("big", "store=W1", 404),
    ("bj_boss", "region=north", 403),  # may not widen to the large region
    ("bj_boss", "store=T1", 404),      # a sibling sub-region's store
    ("manager_west", "store=B1", 404),
    ("manager_west", "region=north", 403),
    ("admin", "region=brand", 200),
])
@pytest.mark.parametrize("route", ["/manager/", "/manager/league?tp=greeting",
                                   "/manager/export/ranking.csv"])
def test_nested_scope_on_the_dashboard(client, auth, nested, user, query, status, route):
    auth.as_role(user)
    page = client.get(f"{route}{'&' if '?' in route else '?'}{query}")
    page.get_data()
    page.close()
    assert page.status_code == status
