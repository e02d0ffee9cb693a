"""Reading a network file (stores or users, CSV or XLSX) into checked rows.

Pure: bytes in, typed rows and problems out. The database side (what exists already, what
changes) is in app/network/importer.py. Rows are numbered as a spreadsheet numbers them: the
header is row 1. Any problem refuses the whole file, so every problem is collected, not only
the first.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field


def _l(message: str) -> str:
    """Marks a message for translation (pybabel extracts `_l`); the caller translates it."""
    return message


STORE_COLUMNS = ("region_code", "region_name", "parent_region_code", "store_code", "store_name",
                 "city", "address", "latitude", "longitude", "active")
USER_COLUMNS = ("username", "display_name", "role", "email", "scope")
# optional extra columns a file may carry
USER_OPTIONAL = ("monthly_capacity",)
ROLES = ("admin", "manager", "reviewer", "shopper")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
TRUE = {"1", "true", "yes", "y", "是", "有效", "启用"}
FALSE = {"0", "false", "no", "n", "否", "无效", "停用"}

M_EMPTY = _l("the file is empty")
M_ENCODING = _l("the file is neither UTF-8 nor GBK text")
M_UNREADABLE = _l("the file cannot be read as CSV or XLSX")
M_KIND = _l("the header names neither a stores file nor a users file")
M_MISSING_COLUMN = _l("missing column: %(column)s")
M_UNKNOWN_COLUMN = _l("unknown column: %(column)s")
M_REQUIRED = _l("%(column)s is required")
M_BAD_CODE = _l("%(column)s %(value)s: letters, digits, '_', '-' or '.' only, at most 32")
M_DUPLICATE = _l("duplicate %(column)s %(value)s (also on row %(other)d)")
M_UNKNOWN_PARENT = _l("unknown parent region %(value)s (declare it on an earlier row)")
M_UNKNOWN_REGION = _l("unknown region %(value)s (declare it on an earlier row)")
M_REGION_DIFFERS = _l("region %(value)s is declared differently on row %(other)d")
M_OWN_PARENT = _l("region %(value)s cannot be its own parent or lie below itself")
M_NUMBER = _l("%(column)s %(value)s is not a number")
M_RANGE = _l("%(column)s %(value)s is out of range (%(low)d to %(high)d)")
M_ACTIVE = _l("active %(value)s: use 1 or 0 (true/false)")
M_ROLE = _l("unknown role %(value)s (admin, manager, reviewer or shopper)")
M_EMAIL = _l("email %(value)s is not an address")
M_SCOPE_CODE = _l("unknown scope code %(value)s (no such region or store)")
M_SCOPE_ROLE = _l("a %(role)s takes no scope")
M_SHOPPER_SCOPE = _l("a shopper's scope lists home regions, %(value)s is a store")
M_CAPACITY = _l("monthly_capacity %(value)s: a whole number from 0 to 200")
M_TOO_LONG = _l("%(column)s is longer than %(limit)d characters")

LIMITS = {"region_name": 100, "store_name": 200, "city": 100, "address": 300,
          "display_name": 100, "email": 200}


@dataclass(frozen=True)
class Problem:
    row: int
    message: str  # an English template from this module (translate, then `% params`)
    params: dict = field(default_factory=dict, hash=False, compare=False)

    def text(self, translate=lambda m: m) -> str:
        return translate(self.message) % self.params

    def line(self, filename: str, translate=lambda m: m) -> str:
        return f"{filename}:{self.row}: {self.text(translate)}"


@dataclass(frozen=True)
class RegionRow:
    row: int
    code: str
    name: str
    parent_code: str | None


@dataclass(frozen=True)
class StoreRow:
    row: int
    code: str
    name: str
    region_code: str
    city: str
    address: str
    latitude: float | None
    longitude: float | None
    active: bool


@dataclass(frozen=True)
class UserRow:
    row: int
    username: str
    display_name: str
    role: str
    email: str
    scope: tuple[str, ...]
    monthly_capacity: int | None


@dataclass
class NetworkFile:
    kind: str | None  # stores | users | None (unreadable)
    regions: list[RegionRow] = field(default_factory=list)
    stores: list[StoreRow] = field(default_factory=list)
    users: list[UserRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Known:
    """What the database holds already: region code -> parent code, store codes."""

    regions: dict[str, str | None] = field(default_factory=dict)
    stores: frozenset[str] = frozenset()


# ---- reading the table ------------------------------------------------------------------


class TableError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GBK, the two encodings Chinese Excel writes.

    A short GBK file can be valid UTF-8 too: 一 is D2 BB in GBK, which UTF-8 reads as the
    Cyrillic һ. When the UTF-8 reading has no Chinese but letters no Chinese dealer network
    writes, while the GBK reading is Chinese, the file is GBK."""
    readings = []
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # UTF-16 decodes as GBK but leaves NULs between the letters
            readings.append((encoding, text))
    if not readings:
        raise TableError(M_ENCODING)
    if len(readings) == 2 and not data.startswith(b"\xef\xbb\xbf"):
        utf8, gbk = readings[0][1], readings[1][1]
        if _chinese(gbk) and not _chinese(utf8) and any(_unlikely(c) for c in utf8):
            return gbk
    return readings[0][1]


def _chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def _unlikely(char: str) -> bool:
    """Outside ASCII and Latin-1's letters (Citroën stays UTF-8): control characters,
    Latin Extended, Greek, Cyrillic... what GBK's double bytes turn into when read as UTF-8."""
    return ord(char) > 0x7F and not ("\u00a0" <= char <= "\u00ff")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def read_table(data: bytes, filename: str) -> list[list[str]]:
    """Rows of cells as text; XLSX by its zip signature, else CSV."""
    if not data.strip():
        raise TableError(M_EMPTY)
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        return _read_xlsx(data)
    text = decode(data)
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as error:
        raise TableError(M_UNREADABLE) from error


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise TableError(M_UNREADABLE) from error
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


# ---- checking the rows ------------------------------------------------------------------


def parse(data: bytes, filename: str, known: Known,
          known_store_codes: Iterable[str] = ()) -> NetworkFile:
    try:
        table = read_table(data, filename)
    except TableError as error:
        return NetworkFile(None, problems=[Problem(1, error.message)])
    while table and not any(table[-1]):
        table.pop()
    if not table or not any(table[0]):
        return NetworkFile(None, problems=[Problem(1, M_EMPTY)])
    header = [h.strip().lower() for h in table[0]]
    while header and not header[-1]:
        header.pop()
    if "username" in header:
        kind, required, optional = "users", USER_COLUMNS, USER_OPTIONAL
    elif "store_code" in header or "region_code" in header:
        kind, required, optional = "stores", STORE_COLUMNS, ()
    else:
        return NetworkFile(None, problems=[Problem(1, M_KIND)])
    result = NetworkFile(kind)
    result.problems += [Problem(1, M_MISSING_COLUMN, {"column": c})
                        for c in required if c not in header]
    result.problems += [Problem(1, M_UNKNOWN_COLUMN, {"column": c})
                        for c in header if c not in required and c not in optional]
    if result.problems:
        return result
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue  # a blank line is not a row
        padded = cells + [""] * (len(header) - len(cells))
        rows.append((number, dict(zip(header, padded, strict=False))))
    if not rows:
        return NetworkFile(kind, problems=[Problem(1, M_EMPTY)])
    if kind == "stores":
        _stores(rows, known, result)
    else:
        _users(rows, known, set(known_store_codes) | set(known.stores), result)
    return result


def _text(row: int, values: dict, column: str, problems: list[Problem]) -> str:
    value = values.get(column, "").strip()
    limit = LIMITS.get(column)
    if limit and len(value) > limit:
        problems.append(Problem(row, M_TOO_LONG, {"column": column, "limit": limit}))
    return value


def _code(row: int, values: dict, column: str, problems: list[Problem], *,
          required: bool) -> str:
    value = values.get(column, "").strip()
    if not value:
        if required:
            problems.append(Problem(row, M_REQUIRED, {"column": column}))
        return ""
    if not CODE.match(value):
        problems.append(Problem(row, M_BAD_CODE, {"column": column, "value": value}))
    return value


def _coordinate(row: int, values: dict, column: str, limit: int,
                problems: list[Problem]) -> float | None:
    raw = values.get(column, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        problems.append(Problem(row, M_NUMBER, {"column": column, "value": raw}))
        return None
    if not -limit <= value <= limit or value != value:
        problems.append(Problem(row, M_RANGE, {"column": column, "value": raw, "low": -limit,
                                               "high": limit}))
        return None
    return value


def _active(row: int, raw: str, problems: list[Problem]) -> bool:
    value = raw.strip().lower()
    if not value or value in TRUE:
        return True
    if value in FALSE:
        return False
    problems.append(Problem(row, M_ACTIVE, {"value": raw}))
    return True


def _below_itself(code: str, parent: str | None, parents: dict[str, str | None]) -> bool:
    seen = {code}
    while parent is not None:
        if parent in seen:
            return True
        seen.add(parent)
        parent = parents.get(parent)
    return False


def _stores(rows, known: Known, result: NetworkFile) -> None:
    problems = result.problems
    parents = dict(known.regions)  # code -> parent code, as the file goes on
    declared: dict[str, tuple[int, RegionRow]] = {}
    store_rows: dict[str, int] = {}
    for number, values in rows:
        region_code = _code(number, values, "region_code", problems, required=True)
        parent_code = _code(number, values, "parent_region_code", problems, required=False)
        region_name = _text(number, values, "region_name", problems)
        store_code = _code(number, values, "store_code", problems, required=False)
        if region_code and (region_name or not store_code):
            if not region_name:
                problems.append(Problem(number, M_REQUIRED, {"column": "region_name"}))
            elif parent_code and parent_code not in parents:
                problems.append(Problem(number, M_UNKNOWN_PARENT, {"value": parent_code}))
            elif _below_itself(region_code, parent_code or None, parents):
                problems.append(Problem(number, M_OWN_PARENT, {"value": region_code}))
            else:
                region = RegionRow(number, region_code, region_name, parent_code or None)
                earlier = declared.get(region_code)
                if earlier is None:
                    declared[region_code] = (number, region)
                    result.regions.append(region)
                    parents[region_code] = region.parent_code
                elif (earlier[1].name, earlier[1].parent_code) != (region.name,
                                                                   region.parent_code):
                    problems.append(Problem(number, M_REGION_DIFFERS,
                                            {"value": region_code, "other": earlier[0]}))
        if not store_code:
            continue
        if region_code and region_code not in parents:
            problems.append(Problem(number, M_UNKNOWN_REGION, {"value": region_code}))
        if store_code in store_rows:
            problems.append(Problem(number, M_DUPLICATE, {
                "column": "store_code", "value": store_code, "other": store_rows[store_code]}))
            continue
        store_rows[store_code] = number
        name = _text(number, values, "store_name", problems)
        if not name:
            problems.append(Problem(number, M_REQUIRED, {"column": "store_name"}))
        result.stores.append(StoreRow(
            number, store_code, name, region_code,
            _text(number, values, "city", problems), _text(number, values, "address", problems),
            _coordinate(number, values, "latitude", 90, problems),
            _coordinate(number, values, "longitude", 180, problems),
            _active(number, values.get("active", ""), problems),
        ))


def _users(rows, known: Known, store_codes: set[str], result: NetworkFile) -> None:
    problems = result.problems
    seen: dict[str, int] = {}
    for number, values in rows:
        username = values.get("username", "").strip()
        if not username:
            problems.append(Problem(number, M_REQUIRED, {"column": "username"}))
            continue
        if not USERNAME.match(username):
            problems.append(Problem(number, M_BAD_CODE, {"column": "username", "value": username}))
        if username.lower() in seen:
            problems.append(Problem(number, M_DUPLICATE, {
                "column": "username", "value": username, "other": seen[username.lower()]}))
            continue
        seen[username.lower()] = number
        role = values.get("role", "").strip().lower()
        if role not in ROLES:
            problems.append(Problem(number, M_ROLE, {"value": values.get("role", "")}))
        email = _text(number, values, "email", problems)
        if email and ("@" not in email or " " in email):
            problems.append(Problem(number, M_EMAIL, {"value": email}))
        scope = tuple(dict.fromkeys(c.strip() for c in values.get("scope", "").split(";")
                                    if c.strip()))
        for code in scope:
            if code not in known.regions and code not in store_codes:
                problems.append(Problem(number, M_SCOPE_CODE, {"value": code}))
            elif role == "shopper" and code not in known.regions:
                problems.append(Problem(number, M_SHOPPER_SCOPE, {"value": code}))
        if scope and role in ("admin", "reviewer"):
            problems.append(Problem(number, M_SCOPE_ROLE, {"role": role}))
        capacity = None
        raw = values.get("monthly_capacity", "").strip()
        if raw:
            if raw.isdigit() and int(raw) <= 200:
                capacity = int(raw)
            else:
                problems.append(Problem(number, M_CAPACITY, {"value": raw}))
        result.users.append(UserRow(number, username, _text(number, values, "display_name",
                                                             problems),
                                    role, email, scope, capacity))
