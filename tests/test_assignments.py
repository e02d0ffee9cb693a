"""Assigning store visits: admins anywhere, managers only within their scope."""

from datetime import date, timedelta

import pytest
from sqlmodel import func, select

from app.db import new_session
from app.models import Assignment, InstrumentVersion, Store, User
from tests.conftest import csrf_token


def ids(app):
    with app.app_context(), new_session() as session:
        stores = {s.code: s.id for s in session.exec(select(Store))}
        version = session.exec(select(InstrumentVersion).where(
            InstrumentVersion.instrument_id == "sales-mystery-shop")).one()
        shopper = session.exec(select(User).where(User.username == "shopper")).one()
        return stores, version.id, shopper.id


def assign(client, app, store_code, start=None, end=None):
    stores, version_id, shopper_id = ids(app)
    page = client.get("/assignments/").get_data(as_text=True)
    start = start or date.today()
    return client.post("/assignments/", data={
        "csrf_token": csrf_token(page), "store_id": stores[store_code], "version_id": version_id,
        "shopper_id": shopper_id, "window_start": start.isoformat(),
        "window_end": (end or start + timedelta(days=5)).isoformat(), "note": "周末上午到访"})


def count(app):
    with app.app_context(), new_session() as session:
        return session.exec(select(func.count()).select_from(Assignment)).one()


def test_admin_assigns_and_the_shopper_sees_it(app, client, auth):
    auth.as_role("admin")
    assert assign(client, app, "W1").status_code == 303
    assert count(app) == 1
    auth.as_role("shopper")
    home = client.get("/shopper/").get_data(as_text=True)
    assert "成都一店" in home and "待完成" in home


def test_manager_assigns_within_the_region(app, client, auth):
    auth.as_role("manager")
    page = client.get("/assignments/").get_data(as_text=True)
    assert "上海一店" in page and "成都一店" not in page  # only stores in scope are offered
    assert assign(client, app, "E2").status_code == 303
    assert count(app) == 1


def test_manager_cannot_assign_another_regions_store(app, client, auth):
    auth.as_role("manager")
    assert assign(client, app, "W1").status_code == 403
    assert count(app) == 0


def test_window_must_not_end_before_it_starts(app, client, auth):
    auth.as_role("admin")
    reply = assign(client, app, "E1", start=date.today(), end=date.today() - timedelta(days=1))
    assert reply.status_code == 400 and "截止日期不能早于开始日期" in reply.get_data(as_text=True)
    assert count(app) == 0


def test_overdue_assignment_is_shown_as_overdue(app, client, auth):
    auth.as_role("admin")
    assign(client, app, "E1", start=date.today() - timedelta(days=10),
           end=date.today() - timedelta(days=3))
    auth.as_role("shopper")
    assert "已逾期" in client.get("/shopper/").get_data(as_text=True)


@pytest.mark.parametrize(("role", "status"), [
    ("admin", 200), ("manager", 200), ("reviewer", 403), ("shopper", 403)])
def test_access(client, auth, role, status):
    auth.as_role(role)
    assert client.get("/assignments/").status_code == status
