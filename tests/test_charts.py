"""The server-side charts as a reader of the printed report meets them."""

from __future__ import annotations

import re

from app.charts import board_chart_print

A4_CONTENT_MM = (186, 269)  # A4 less the report's margins (templates/reports/_print.css)


def _rows(n: int) -> list[dict]:
    return [{"label": f"触点{i}", "mean": 40 + i, "ci": (30 + i, 50 + i), "target": 85,
             "best": 90, "small": i % 7 == 0} for i in range(n)]


def test_thirty_touchpoints_fit_one_printed_page():
    """An SVG cannot break across pages: the phone layout ran off A4 after a dozen rows."""
    svg = str(board_chart_print(_rows(30), title="上海一店"))
    width, height = map(float, re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    printed_height = A4_CONTENT_MM[0] * height / width
    assert printed_height < A4_CONTENT_MM[1]
    assert all(f"触点{i}" in svg for i in range(30))


def test_every_row_carries_its_value_as_text_and_names_are_escaped():
    svg = str(board_chart_print([{"label": "<b>礼仪</b>", "mean": 62.5, "ci": None,
                                  "target": 85, "best": None, "small": True},
                                 {"label": "试驾", "mean": None, "target": 85}], title="x"))
    assert "62.5 ?" in svg  # a small sample is marked
    assert "&lt;b&gt;礼仪" in svg and "<b>" not in svg
    assert "试驾" in svg
