"""Test data built through the same code paths the app uses."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from app.auth import hash_password
from app.domain.definitions import check, load_taxonomy
from app.instruments import load_instrument, load_taxonomy as store_taxonomy
from app.models import ManagerStore, Region, Store, User

ROOT = Path(__file__).resolve().parent.parent
SURVEYS = ROOT / "surveys"
PASSWORD = "correct horse battery"


def load_shipped(session: Session) -> None:
    taxonomy = load_taxonomy(SURVEYS / "touchpoints.yaml")
    problems, instruments = check([SURVEYS], taxonomy)
    assert not problems, problems
    store_taxonomy(session, taxonomy)
    for instrument in instruments:
        load_instrument(session, instrument)
    session.flush()


def make_network(session: Session) -> dict:
    """Two regions with two stores each; users: admin, reviewer, shopper, a manager of each
    region (manager = east, manager_west = west) and a store manager scoped to one store."""
    east, west = Region(code="east", name="华东区"), Region(code="west", name="西区")
    session.add_all([east, west])
    session.flush()
    stores = [
        Store(code="E1", name="上海一店", region_id=east.id),
        Store(code="E2", name="杭州一店", region_id=east.id),
        Store(code="W1", name="成都一店", region_id=west.id),
        Store(code="W2", name="重庆一店", region_id=west.id),
    ]
    session.add_all(stores)
    session.flush()
    users = {}
    for username, role, region in [
        ("admin", "admin", None), ("reviewer", "reviewer", None), ("shopper", "shopper", None),
        ("manager", "manager", east.id), ("manager_west", "manager", west.id),
        ("store_manager", "manager", None),
    ]:
        user = User(username=username, display_name=username, role=role, region_id=region,
                    password_hash=hash_password(PASSWORD))
        session.add(user)
        users[username] = user
    session.flush()
    session.add(ManagerStore(user_id=users["store_manager"].id, store_id=stores[2].id))
    session.flush()
    return {"regions": (east, west), "stores": stores, "users": users}
