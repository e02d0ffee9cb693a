"""Admin screens for regions, stores and users: access, search and paging, edit, deactivate,
roles and scopes, password reset."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from app.db import new_session
from app.models import ManagerRegion, Region, Store, TouchpointScore, User
from tests.conftest import csrf_token

PAGES = ["/admin/network/regions", "/admin/network/stores", "/admin/network/users",
         "/admin/network/regions/new", "/admin/network/stores/new", "/admin/network/users/new",
         "/admin/network/users/1"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role, status", [("admin", 200), ("manager", 403), ("reviewer", 403),
                                          ("shopper", 403)])
def test_access(client, auth, path, role, status):
    auth.as_role(role)
    assert client.get(path).status_code == status


def test_forbidden_writes(client, auth):
    auth.as_role("manager")
    token = csrf_token(client.get("/manager/").get_data(as_text=True))
    assert client.post("/admin/network/users/1/password",
                       data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/network/stores/new", data={"csrf_token": token}).status_code == 403


def _post(client, path: str, **data):
    token = csrf_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _id(app, model, **where):
    with app.app_context(), new_session() as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.exec(query).one()


def test_search_and_paging(client, auth, app):
    with app.app_context(), new_session() as session:
        east = session.exec(select(Region).where(Region.code == "east")).one()
        session.add_all(Store(code=f"P{n:03d}", name=f"分页店{n}", region_id=east.id)
                        for n in range(120))
        session.commit()
    auth.as_role("admin")
    page = client.get("/admin/network/stores?q=P0").get_data(as_text=True)
    assert "100 " in page or "共" in page
    soup = BeautifulSoup(page, "html.parser")
    assert len(soup.select("table tbody tr")) == 50
    last = BeautifulSoup(client.get("/admin/network/stores?q=P&page=3").get_data(as_text=True),
                         "html.parser")
    assert [a.get_text() for a in last.select("tbody td:first-child a")] == \
        [f"P{n:03d}" for n in range(100, 120)]
    found = BeautifulSoup(client.get("/admin/network/stores?q=成都").get_data(as_text=True),
                          "html.parser")
    assert [a.get_text() for a in found.select("tbody td:first-child a")] == ["W1"]


def test_region_moves_under_a_parent_but_not_under_itself(client, auth, app):
    auth.as_role("admin")
    page = _post(client, "/admin/network/regions/new", code="country", name="全国",
                 parent_id="", active="y")
    assert page.status_code == 302
    country = _id(app, Region, code="country")
    east = _id(app, Region, code="east")
    assert _post(client, f"/admin/network/regions/{east.id}", code="east", name="华东区",
                 parent_id=str(country.id), active="y").status_code == 302
    assert _id(app, Region, code="east").parent_id == country.id
    # country below east (its own child) is not offered and refused
    refused = _post(client, f"/admin/network/regions/{country.id}", code="country", name="全国",
                    parent_id=str(east.id), active="y")
    assert refused.status_code == 400
    assert _id(app, Region, code="country").parent_id is None


def test_new_user_with_scope_and_one_time_password(client, auth, app):
    auth.as_role("admin")
    page = _post(client, "/admin/network/users/new", username="li", display_name="李",
                 role="manager", email="", scope="east;W1", monthly_capacity="0", active="y")
    assert page.status_code == 200
    password = BeautifulSoup(page.get_data(as_text=True), "html.parser").select_one(
        "code.otp").get_text()
    li = _id(app, User, username="li")
    assert li.must_change_password
    with app.app_context(), new_session() as session:
        assert session.exec(select(ManagerRegion).where(ManagerRegion.user_id == li.id)).one()
    bad = _post(client, "/admin/network/users/new", username="x", role="shopper",
                scope="W1", monthly_capacity="3", active="y")
    assert bad.status_code == 400
    client.post("/logout", data={"csrf_token": csrf_token(
        client.get("/admin/network/users").get_data(as_text=True))})
    from tests.conftest import Auth

    assert Auth(client).login("li", password).status_code == 302
    assert client.get("/manager/").status_code == 302  # to the password change first


def test_deactivated_user_cannot_log_in(client, auth, app):
    auth.as_role("admin")
    shopper = _id(app, User, username="shopper")
    assert _post(client, f"/admin/network/users/{shopper.id}", username="shopper",
                 display_name="shopper", role="shopper", scope="", monthly_capacity="4"
                 ).status_code == 302  # active unticked
    from tests.conftest import Auth

    other = app.test_client()
    assert Auth(other).login("shopper").status_code == 401


def test_reset_password(client, auth, app):
    auth.as_role("admin")
    reviewer = _id(app, User, username="reviewer")
    token = csrf_token(client.get(f"/admin/network/users/{reviewer.id}").get_data(as_text=True))
    page = client.post(f"/admin/network/users/{reviewer.id}/password",
                       data={"csrf_token": token}).get_data(as_text=True)
    assert re.search(r'class="otp">[^<]{8,}<', page)
    assert _id(app, User, username="reviewer").must_change_password


def test_deactivated_store_leaves_rankings_from_that_day_but_keeps_history(client, auth, app):
    from app import summaries
    from app.network.records import set_store_active
    from tests.test_dashboard import seed_responses

    seed_responses(app)
    store = _id(app, Store, code="E1")
    with app.app_context(), new_session() as session:
        # one counted score after today, as if a late survey had come in
        late = session.exec(select(TouchpointScore).where(
            TouchpointScore.store_id == store.id, TouchpointScore.counted)).first()
        late.day = date.today() + timedelta(days=1)
        session.add(late)
        session.commit()
        summaries.rebuild(session)  # (the row was moved behind the summaries' back)
        session.commit()
        before = session.exec(select(TouchpointScore).where(
            TouchpointScore.store_id == store.id, TouchpointScore.counted)).all()
    auth.as_role("admin")
    assert _post(client, f"/admin/network/stores/{store.id}", code="E1", name="上海一店",
                 region_id=str(store.region_id)).status_code == 302
    after = _id(app, Store, code="E1")
    assert not after.active and after.deactivated_on == date.today()
    with app.app_context(), new_session() as session:
        still = session.exec(select(TouchpointScore).where(
            TouchpointScore.store_id == store.id, TouchpointScore.counted)).all()
        assert summaries.verify(session) == []  # kept in step, no rebuild
    assert len(still) == len(before) - 1 and all(s.day < date.today() for s in still)
    with app.app_context(), new_session() as session:  # back again: the late score counts
        set_store_active(session, [store.id], True, date.today())
        session.commit()
        assert summaries.verify(session) == []
        assert len(session.exec(select(TouchpointScore).where(
            TouchpointScore.store_id == store.id, TouchpointScore.counted)).all()) == len(before)


def test_conflicting_stores_of_a_shopper(client, auth, app):
    from app.models import ShopperConflict

    auth.as_role("admin")
    shopper = _id(app, User, username="shopper2")
    assert _post(client, f"/admin/network/users/{shopper.id}", username="shopper2",
                 role="shopper", scope="east", conflicts="E1;NOPE", monthly_capacity="4",
                 active="y").status_code == 400
    assert _post(client, f"/admin/network/users/{shopper.id}", username="shopper2",
                 role="shopper", scope="east", conflicts="E1", monthly_capacity="4",
                 active="y").status_code == 302
    with app.app_context(), new_session() as session:
        conflict = session.exec(select(ShopperConflict)).one()
        assert conflict.store_id == _id(app, Store, code="E1").id
    page = client.get(f"/admin/network/users/{shopper.id}").get_data(as_text=True)
    assert 'value="E1"' in page
