"""Importing a network file: compare the checked rows with the database, then (unless a dry
run) write every change in one transaction. Upsert by code or username; rows that disappear
are deactivated only when asked, never deleted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, insert
from sqlmodel import Session, select
from werkzeug.security import generate_password_hash

from ..domain.network_file import Known, NetworkFile, parse
from ..models import ManagerRegion, ManagerStore, Region, ShopperRegion, Store, User
from .records import set_store_active


@dataclass
class Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deactivated: int = 0

    def line(self, noun: str) -> str:
        return f"{noun}: {self.new} new, {self.changed} changed, {self.unchanged} unchanged"


@dataclass
class ImportResult:
    file: NetworkFile
    regions: Counts = field(default_factory=Counts)
    stores: Counts = field(default_factory=Counts)
    users: Counts = field(default_factory=Counts)
    passwords: dict[str, str] = field(default_factory=dict)  # new username -> one-time password
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.file.problems

    def lines(self) -> list[str]:
        if self.file.kind == "users":
            out = [self.users.line("users")]
            if self.users.deactivated:
                out.append(f"users: {self.users.deactivated} deactivated")
            return out
        out = [self.regions.line("regions"), self.stores.line("stores")]
        if self.stores.deactivated:
            out.append(f"stores: {self.stores.deactivated} deactivated")
        return out


def one_time_password() -> str:
    return secrets.token_urlsafe(9)


def hash_one_time(password: str) -> str:
    # a random 72-bit password that must be changed at first login needs no slow hash, and a
    # file of 2,000 shoppers imports in seconds instead of minutes
    return generate_password_hash(password, method="pbkdf2:sha256:10000")


def known(session: Session) -> Known:
    codes = dict(session.exec(select(Region.id, Region.code)).all())
    parents = {code: codes.get(parent)
               for code, parent in session.exec(select(Region.code, Region.parent_id))}
    return Known(parents, frozenset(session.exec(select(Store.code))))


def import_network(session: Session, data: bytes, filename: str, *, dry_run: bool = False,
                   deactivate_missing: bool = False, today: date | None = None) -> ImportResult:
    """Check the file; when it has no problem and this is no dry run, write it and commit."""
    parsed = parse(data, filename, known(session))
    result = ImportResult(parsed)
    if parsed.problems:
        return result
    if parsed.kind == "stores":
        _apply_stores(session, result, deactivate_missing, today or date.today())
    else:
        _apply_users(session, result, deactivate_missing)
    if dry_run:
        session.rollback()
    else:
        session.commit()
        result.written = True
    return result


# ---- stores and regions -----------------------------------------------------------------


def _apply_stores(session: Session, result: ImportResult, deactivate_missing: bool,
                  today: date) -> None:
    regions = {r.code: r for r in session.exec(select(Region))}
    ids = {r.id: r.code for r in regions.values()}
    fresh = []
    for row in result.file.regions:
        region = regions.get(row.code)
        if region is None:
            region = Region(code=row.code, name=row.name)
            regions[row.code] = region
            fresh.append((region, row))
            result.regions.new += 1
            continue
        parent = ids.get(region.parent_id) if region.parent_id else None
        if (region.name, parent, region.active) == (row.name, row.parent_code, True):
            result.regions.unchanged += 1
        else:
            result.regions.changed += 1
            region.name, region.active = row.name, True
            fresh.append((region, row))
    session.add_all(r for r, _ in fresh)
    session.flush()  # every new region has its id now; parents are set in a second pass
    for region, row in fresh:
        region.parent_id = regions[row.parent_code].id if row.parent_code else None
    session.flush()

    stores = {s.code: s for s in session.exec(select(Store))}
    fresh_stores = []
    flips: dict[bool, list[int]] = {True: [], False: []}
    for row in result.file.stores:
        values = {"name": row.name, "region_id": regions[row.region_code].id, "city": row.city,
                  "address": row.address, "latitude": row.latitude,
                  "longitude": row.longitude}
        store = stores.pop(row.code, None)
        if store is None:
            fresh_stores.append({"code": row.code, "active": row.active,
                                 "deactivated_on": None if row.active else today, **values})
            result.stores.new += 1
        elif store.active == row.active and all(getattr(store, k) == v
                                                for k, v in values.items()):
            result.stores.unchanged += 1
        else:
            if store.active != row.active:
                flips[row.active].append(store.id)
            for key, value in values.items():
                setattr(store, key, value)
            result.stores.changed += 1
    if fresh_stores:
        # one multi-row INSERT: building 2,000 ORM objects costs more than the database does
        session.connection().execute(insert(Store.__table__), fresh_stores)
    if deactivate_missing:
        missing = [store.id for store in stores.values() if store.active]
        flips[False] += missing
        result.stores.deactivated = len(missing)
    session.flush()
    for active, ids in flips.items():
        set_store_active(session, ids, active, today)
    session.expire_all()


# ---- users ------------------------------------------------------------------------------


def current_scopes(session: Session) -> dict[int, frozenset[str]]:
    """user id -> the region and store codes of their scope (managers) or home regions."""
    scopes: dict[int, set[str]] = {}
    for user_id, code in session.exec(
            select(ManagerRegion.user_id, Region.code).join(Region,
                                                             Region.id == ManagerRegion.region_id)):
        scopes.setdefault(user_id, set()).add(code)
    for user_id, code in session.exec(
            select(ManagerStore.user_id, Store.code).join(Store, Store.id == ManagerStore.store_id)):
        scopes.setdefault(user_id, set()).add(code)
    for user_id, code in session.exec(
            select(ShopperRegion.user_id, Region.code).join(Region,
                                                             Region.id == ShopperRegion.region_id)):
        scopes.setdefault(user_id, set()).add(code)
    for user_id, code in session.exec(
            select(User.id, Region.code).join(Region, Region.id == User.region_id)):
        scopes.setdefault(user_id, set()).add(code)
    return {k: frozenset(v) for k, v in scopes.items()}


def set_scope(session: Session, user: User, codes: tuple[str, ...] | list[str],
              region_ids: dict[str, int], store_ids: dict[str, int]) -> None:
    """Replace a user's scope (manager) or home regions (shopper) by these codes."""
    for table in (ManagerRegion, ManagerStore, ShopperRegion):
        session.exec(delete(table).where(table.user_id == user.id))
    user.region_id = None
    regions = [region_ids[c] for c in codes if c in region_ids]
    stores = [store_ids[c] for c in codes if c not in region_ids and c in store_ids]
    if user.role == "manager":
        session.add_all(ManagerRegion(user_id=user.id, region_id=r) for r in regions)
        session.add_all(ManagerStore(user_id=user.id, store_id=s) for s in stores)
    elif user.role == "shopper":
        session.add_all(ShopperRegion(user_id=user.id, region_id=r) for r in regions)


def _apply_users(session: Session, result: ImportResult, deactivate_missing: bool) -> None:
    users = {u.username.lower(): u for u in session.exec(select(User))}
    scopes = current_scopes(session)
    region_ids = dict(session.exec(select(Region.code, Region.id)).all())
    store_ids = dict(session.exec(select(Store.code, Store.id)).all())
    rescoped: list[tuple[User, tuple[str, ...]]] = []
    for row in result.file.users:
        user = users.pop(row.username.lower(), None)
        capacity = row.monthly_capacity
        if user is None:
            password = one_time_password()
            user = User(username=row.username, display_name=row.display_name, role=row.role,
                        email=row.email, password_hash=hash_one_time(password),
                        must_change_password=True, monthly_capacity=capacity or 0)
            session.add(user)
            result.passwords[row.username] = password
            result.users.new += 1
            rescoped.append((user, row.scope))
            continue
        values = {"display_name": row.display_name, "role": row.role, "email": row.email,
                  "active": True}
        if capacity is not None:
            values["monthly_capacity"] = capacity
        same_scope = scopes.get(user.id, frozenset()) == frozenset(row.scope)
        if same_scope and all(getattr(user, k) == v for k, v in values.items()):
            result.users.unchanged += 1
            continue
        for key, value in values.items():
            setattr(user, key, value)
        if not same_scope or user.role not in ("manager", "shopper"):
            rescoped.append((user, row.scope))
        result.users.changed += 1
    if deactivate_missing:
        for user in users.values():
            # an admin missing from the file keeps access: a file must not lock everyone out
            if user.active and user.role != "admin":
                user.active = False
                result.users.deactivated += 1
    session.flush()
    for user, codes in rescoped:
        set_scope(session, user, codes, region_ids, store_ids)
    session.flush()
