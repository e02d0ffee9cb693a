"""Who may see which stores. Every manager route filters through `visible_store_ids`.

Regions nest to any depth; a region stands for every region and store below it. The subtree is
one recursive CTE (SQLite and PostgreSQL both have them), never a Python walk with a query per
level.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import union
from sqlmodel import Session, select

from .models import ManagerRegion, ManagerStore, Region, Store, User


def subtree_query(region_ids: Iterable[int]):
    """A CTE of the ids of the given regions and every region below them."""
    ids = list(region_ids) or [-1]
    tree = select(Region.id.label("id")).where(Region.id.in_(ids)).cte("tree", recursive=True)
    child = select(Region.id).join(tree, Region.parent_id == tree.c.id)
    return tree.union(child)


def region_ids_below(session: Session, region_ids: Iterable[int]) -> set[int]:
    tree = subtree_query(region_ids)
    return set(session.exec(select(tree.c.id)))


def stores_below(session: Session, region_ids: Iterable[int]) -> set[int]:
    """Ids of every store in the given regions or any region below them."""
    tree = subtree_query(region_ids)
    return set(session.exec(select(Store.id).join(tree, Store.region_id == tree.c.id)))


def scope_region_ids(session: Session, user: User) -> set[int]:
    """The regions a manager was given (the legacy single region included)."""
    ids = set(session.exec(select(ManagerRegion.region_id).where(ManagerRegion.user_id == user.id)))
    if user.region_id is not None:
        ids.add(user.region_id)
    return ids


def visible_store_ids(session: Session, user: User) -> set[int] | None:
    """None means every store (admin, reviewer); otherwise the set the user may see."""
    if user.role in ("admin", "reviewer"):
        return None
    if user.role != "manager":
        return set()
    tree = subtree_query(scope_region_ids(session, user))
    in_regions = select(Store.id).join(tree, Store.region_id == tree.c.id)
    own = select(ManagerStore.store_id).where(ManagerStore.user_id == user.id)
    return set(session.connection().execute(union(in_regions, own)).scalars())


def can_see_store(session: Session, user: User, store_id: int) -> bool:
    allowed = visible_store_ids(session, user)
    return allowed is None or store_id in allowed
