"""Exporting the network in the columns the import reads, so an export imports back
unchanged (regions first, parents before children, then the stores)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlmodel import Session, select

from ..domain.network_file import STORE_COLUMNS, USER_COLUMNS, USER_OPTIONAL
from ..models import Region, Store, User
from .importer import current_scopes


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def regions_in_order(regions: list[Region]) -> list[Region]:
    """Parents before their children (depth first, by code), as an import needs them."""
    children: dict[int | None, list[Region]] = {}
    for region in regions:
        children.setdefault(region.parent_id, []).append(region)
    out: list[Region] = []
    stack = sorted(children.get(None, []), key=lambda r: r.code, reverse=True)
    while stack:
        region = stack.pop()
        out.append(region)
        stack.extend(sorted(children.get(region.id, []), key=lambda r: r.code, reverse=True))
    return out


def store_rows(session: Session) -> Iterator[list[str]]:
    yield list(STORE_COLUMNS)
    regions = list(session.exec(select(Region)))
    codes = {r.id: r.code for r in regions}
    for region in regions_in_order(regions):
        yield [region.code, region.name, codes.get(region.parent_id, ""), "", "", "", "", "",
               "", ""]
    for store in session.exec(select(Store).order_by(Store.code)):
        yield [codes[store.region_id], "", "", store.code, store.name, store.city, store.address,
               _number(store.latitude), _number(store.longitude), "1" if store.active else "0"]


def user_rows(session: Session) -> Iterator[list[str]]:
    yield [*USER_COLUMNS, *USER_OPTIONAL]
    scopes = current_scopes(session)
    for user in session.exec(select(User).where(User.active).order_by(User.username)):
        yield [user.username, user.display_name, user.role, user.email,
               ";".join(sorted(scopes.get(user.id, ()))), str(user.monthly_capacity)]


def table_bytes(rows: list[list[str]], *, xlsx: bool, title: str = "network") -> bytes:
    """CSV (UTF-8 with BOM, so Excel shows Chinese) or XLSX of the rows."""
    if xlsx:
        from ..exports import xlsx_bytes

        return xlsx_bytes(rows, title)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
