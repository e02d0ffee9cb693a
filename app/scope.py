"""Who may see which stores. Every manager route filters through `visible_store_ids`."""

from __future__ import annotations

from sqlmodel import Session, select

from .models import ManagerStore, Store, User


def visible_store_ids(session: Session, user: User) -> set[int] | None:
    """None means every store (admin, reviewer); otherwise the set the user may see."""
    if user.role in ("admin", "reviewer"):
        return None
    if user.role == "manager":
        if user.region_id is not None:
            rows = session.exec(select(Store.id).where(Store.region_id == user.region_id))
            return set(rows)
        rows = session.exec(select(ManagerStore.store_id).where(ManagerStore.user_id == user.id))
        return set(rows)
    return set()


def can_see_store(session: Session, user: User, store_id: int) -> bool:
    allowed = visible_store_ids(session, user)
    return allowed is None or store_id in allowed
