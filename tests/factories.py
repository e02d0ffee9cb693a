"""Test data built through the same code paths the app uses."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlmodel import Session
from werkzeug.security import generate_password_hash

from app.domain.definitions import check, load_taxonomy
from app.instruments import load_instrument
from app.instruments import load_taxonomy as store_taxonomy
from app.models import ManagerStore, Region, Store, User

ROOT = Path(__file__).resolve().parent.parent
SURVEYS = ROOT / "surveys"
PASSWORD = "correct horse battery"


@lru_cache(maxsize=1)
def _shipped():
    """Parsed once per test run: the files do not change while tests run."""
    taxonomy = load_taxonomy(SURVEYS / "touchpoints.yaml")
    problems, instruments = check([SURVEYS], taxonomy)
    assert not problems, problems
    return taxonomy, instruments


@lru_cache(maxsize=1)
def password_hash() -> str:
    # a cheap method keeps tests fast; the app itself uses werkzeug's default (scrypt)
    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def load_shipped(session: Session) -> None:
    taxonomy, instruments = _shipped()
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
        ("shopper2", "shopper", None),
        ("manager", "manager", east.id), ("manager_west", "manager", west.id),
        ("store_manager", "manager", None),
    ]:
        user = User(username=username, display_name=username, role=role, region_id=region,
                    password_hash=password_hash())
        session.add(user)
        users[username] = user
    session.flush()
    session.add(ManagerStore(user_id=users["store_manager"].id, store_id=stores[2].id))
    session.flush()
    return {"regions": (east, west), "stores": stores, "users": users}


def assign_test_checklist(session: Session, *, shopper: str = "shopper", store_code: str = "E1",
                          definition: str = "shop-case") -> int:
    """Load tests/data/<definition>.yaml and assign it to a shopper for a store; the assignment id."""
    from app.domain.definitions import load_instrument as read_instrument

    taxonomy = load_taxonomy(SURVEYS / "touchpoints.yaml")
    load_instrument(session, read_instrument(ROOT / "tests" / "data" / f"{definition}.yaml", taxonomy))
    session.flush()
    return assign(session, definition, shopper=shopper, store_code=store_code)


def assign(session: Session, instrument_id: str, *, shopper: str = "shopper", store_code: str = "E1") -> int:
    """Assign a loaded instrument's latest version to a shopper for a store; the assignment id."""
    from datetime import date, timedelta

    from sqlmodel import select

    from app.models import Assignment, InstrumentVersion

    version = session.exec(select(InstrumentVersion).where(
        InstrumentVersion.instrument_id == instrument_id)
        .order_by(InstrumentVersion.version.desc())).first()
    user = session.exec(select(User).where(User.username == shopper)).one()
    store = session.exec(select(Store).where(Store.code == store_code)).one()
    assignment = Assignment(instrument_version_id=version.id, store_id=store.id, shopper_id=user.id,
                            window_start=date.today(), window_end=date.today() + timedelta(days=3))
    session.add(assignment)
    session.commit()
    return assignment.id
