"""A manager sees only their region or stores."""

from sqlmodel import select

from app.db import new_session
from app.models import Store, User
from app.scope import visible_store_ids


def _codes(app, username):
    with app.app_context(), new_session() as session:
        user = session.exec(select(User).where(User.username == username)).one()
        ids = visible_store_ids(session, user)
        if ids is None:
            return None
        return sorted(session.exec(select(Store.code).where(Store.id.in_(ids or {-1}))))


def test_region_manager_sees_their_region_only(app):
    assert _codes(app, "manager") == ["E1", "E2"]
    assert _codes(app, "manager_west") == ["W1", "W2"]


def test_store_manager_sees_their_stores_only(app):
    assert _codes(app, "store_manager") == ["W1"]


def test_admin_sees_everything_and_shopper_nothing(app):
    assert _codes(app, "admin") is None
    assert _codes(app, "shopper") == []
