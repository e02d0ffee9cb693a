"""CSV and XLSX downloads of the short board and of the raw responses in a scope.

CSV streams row by row (UTF-8 with BOM so Excel opens Chinese correctly); XLSX is written with
openpyxl's write-only workbook and stops at Excel's row limit with a note in the last row.

Every cell of both goes through `cell()`: customer free text is untrusted, and a spreadsheet
runs text that looks like a formula (`=HYPERLINK(...)`), while control characters are not
allowed in an XLSX file at all.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator

from flask import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

XLSX_MAX_ROWS = 1_048_575
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

RANKING_HEADER = [
    "rank", "touchpoint", "label", "score", "n", "ci90_low", "ci90_high", "target",
    "gap_to_target", "best_quartile", "gap_to_best_quartile", "other_measure_score",
    "other_measure_n", "importance", "priority", "fix_first", "small_sample",
    "critical_failures", "weakest_stores",
]
RESPONSES_HEADER = [
    "response_id", "uuid", "region", "store_code", "store_name", "day", "instrument",
    "version", "status", "overall", "item_id", "answer",
]


# C0 controls but newline (tabs become spaces), DEL, C1 controls, lone surrogates and XML's non-characters
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# what makes a spreadsheet read a cell as a formula (OWASP "CSV injection"); the full-width
# forms too, which Chinese input methods type and some spreadsheet programs accept
_FORMULA_START = tuple("=+-@\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def cell(value):
    """A value safe to write into a CSV or XLSX cell: control characters removed, and text
    that a spreadsheet would run as a formula prefixed with an apostrophe (shown as text)."""
    if not isinstance(value, str):
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub("", text)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _r(value: float | None, digits: int = 2):
    return None if value is None else round(value, digits)


def ranking_rows(board, locale: str) -> Iterator[list]:
    yield RANKING_HEADER
    for row in board.rows:
        ci = row.stats.ci90 or (None, None)
        weakest = "; ".join(
            f"{board.stores[s.store_id][0].code} {s.shrunk:.1f}" for s in row.weakest_stores
        )
        yield [
            row.rank, row.touchpoint_id, board.labels[row.touchpoint_id][locale],
            _r(row.mean), row.stats.n, _r(ci[0]), _r(ci[1]), row.target, _r(row.gap),
            _r(row.best_quartile), _r(row.gap_best), _r(row.other.mean), row.other.n,
            _r(row.importance, 3), _r(row.priority), row.fix_first, row.small,
            row.stats.critical, weakest,
        ]


def response_rows(answer_rows: Iterable[tuple]) -> Iterator[list]:
    yield RESPONSES_HEADER
    for rid, uuid, region, code, name, day, instrument, version, status, overall, item, raw in (
        answer_rows
    ):
        value = json.loads(raw)
        yield [rid, uuid, region, code, name, day.isoformat(), instrument, version, status,
               _r(overall), item, value if isinstance(value, str | int | float) else raw]


def csv_response(rows_of: Callable[[Session], Iterable[list]], filename: str, *,
                 engine: Engine) -> Response:
    """Stream `rows_of(session)` as CSV. The rows are read on a session the stream opens and
    always closes, even when the client goes away: the request's own session is closed before
    the first byte is sent, and a query run on it then would hold a connection idle in a
    transaction until the pool runs dry."""

    def generate():
        with Session(engine) as session:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            yield "\ufeff"
            for n, row in enumerate(rows_of(session)):
                writer.writerow(["" if v is None else cell(v) for v in row])
                if n % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

    return Response(generate(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def xlsx_bytes(rows: Iterable[list], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for n, row in enumerate(rows):
        if n >= XLSX_MAX_ROWS:
            sheet.append(["truncated at Excel's row limit: download the CSV for every row"])
            break
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(rows: Iterable[list], filename: str, title: str) -> Response:
    return Response(xlsx_bytes(rows, title), mimetype=XLSX_MIME,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
