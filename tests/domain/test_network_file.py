"""The network file parser as properties: a valid network written as CSV (UTF-8 or GBK, as
Chinese Excel saves it) reads back exactly as written; any table at all gives rows or
problems at spreadsheet row numbers, never an exception."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.network_file import STORE_COLUMNS, Known, decode, parse

CODES = st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True)
NAMES = st.text(alphabet="上海杭州北京成都华东西区大店星驰汽车一二三", min_size=1, max_size=12)
COORDINATES = st.one_of(st.none(), st.decimals(-90, 90, places=4).map(float))


@st.composite
def networks(draw):
    """Regions as a tree (each parent declared before its children), then stores under them."""
    codes = draw(st.lists(CODES, min_size=1, max_size=8, unique=True))
    regions = []
    for i, code in enumerate(codes):
        parent = draw(st.sampled_from([None, *codes[:i]])) if i else None
        regions.append((code, draw(NAMES), parent))
    store_codes = draw(st.lists(CODES.map(lambda c: "S" + c), max_size=12, unique=True))
    stores = [(code, draw(NAMES), draw(st.sampled_from(codes)), draw(NAMES),
               draw(COORDINATES), draw(st.booleans())) for code in store_codes]
    return regions, stores


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(networks(), st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_a_valid_network_reads_back_as_written(network, encoding):
    regions, stores = network
    rows = [list(STORE_COLUMNS)]
    rows += [[code, name, parent or "", "", "", "", "", "", "", ""]
             for code, name, parent in regions]
    rows += [[region, "", "", code, name, city, "", "" if lat is None else str(lat),
              "" if lat is None else "120.5", "1" if active else "0"]
             for code, name, region, city, lat, active in stores]
    result = parse(_csv(rows).encode(encoding), "network.csv", Known())
    assert result.problems == []
    assert [(r.code, r.name, r.parent_code) for r in result.regions] == regions
    assert [(s.code, s.name, s.region_code, s.city, s.latitude, s.active)
            for s in result.stores] == [(c, n, r, city, lat, a)
                                        for c, n, r, city, lat, a in stores]
    assert [s.row for s in result.stores] == list(range(len(regions) + 2,
                                                        len(regions) + 2 + len(stores)))


CELLS = st.one_of(st.sampled_from(["", "east", "SH01", "上海", "91", "-1", "1", "0", "maybe",
                                   "a;b", "x" * 40]), st.text(max_size=8))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(CELLS, max_size=12), max_size=8),
       st.sampled_from(["stores", "users", "other"]))
def test_any_table_gives_rows_or_problems_never_an_exception(body, header):
    head = {"stores": list(STORE_COLUMNS), "users": ["username", "display_name", "role", "email",
                                                     "scope"], "other": ["name", "phone"]}[header]
    data = _csv([head, *body]).encode("utf-8")
    result = parse(data, "network.csv", Known(regions={"east": None}), {"SH01"})
    last_row = len(body) + 1
    assert all(1 <= p.row <= last_row for p in result.problems)
    assert all(p.line("network.csv").startswith(f"network.csv:{p.row}: ") for p in result.problems)
    if not result.problems:
        assert result.kind in ("stores", "users")


@pytest.mark.parametrize("text, encoding", [
    ("一", "gbk"),            # D2 BB: valid UTF-8 too (Cyrillic һ), but a GBK file
    ("一店,二区", "gbk"),
    ("上海一店", "utf-8"),
    ("Citroën 4S", "utf-8"),  # Latin-1 letters stay UTF-8
    ("Citroën 4S", "utf-8-sig"),
])
def test_the_encoding_is_told_from_the_text(text, encoding):
    assert decode(text.encode(encoding)) == text
