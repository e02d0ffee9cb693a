"""Server-side SVG charts (no JavaScript): the same markup goes into pages and PDF reports.

Colours come from ColorBrewer's PuOr diverging scheme, which stays distinguishable for the
common colour-vision deficiencies; every chart also carries the numbers as text.
"""

from __future__ import annotations

from markupsafe import Markup, escape

# below target (orange) ... above target (purple); text colour for each
HEAT = [
    (-15.0, "#b35806", "#fff"),
    (-5.0, "#f1a340", "#000"),
    (0.0, "#fee0b6", "#000"),
    (5.0, "#d8daeb", "#000"),
    (float("inf"), "#998ec3", "#000"),
]
HEAT_LABELS = ["< −15", "−15…−5", "−5…0", "0…+5", "≥ +5"]
BAR, CI, TARGET, BEST = "#1f4e79", "#000", "#b35806", "#542788"


def heat_class(value: float | None, target: float) -> str:
    """CSS class of a heat-map cell, by distance to target (classes, not inline styles: the
    Content-Security-Policy allows no style attributes)."""
    if value is None:
        return "heat-none"
    gap = value - target
    for n, (upper, _fill, _ink) in enumerate(HEAT):
        if gap < upper:
            return f"heat-{n}"
    return "heat-none"


def heat_style(value: float | None, target: float) -> str:
    """Inline style of a heat-map cell for the PDF reports (WeasyPrint: no CSP there)."""
    if value is None:
        return "background:#fff;color:#5b6775"
    gap = value - target
    for upper, fill, ink in HEAT:
        if gap < upper:
            return f"background:{fill};color:{ink}"
    return ""


def legend_swatches() -> list[tuple[str, str]]:
    return [(label, f"heat-{n}") for n, label in enumerate(HEAT_LABELS)]


def heat_css() -> str:
    """The rules behind heat_class, generated from HEAT so the colours live in one place."""
    rules = [f".heat-{n} {{ background: {fill}; color: {ink}; }}"
             for n, (_u, fill, ink) in enumerate(HEAT)]
    return "\n".join([*rules, ".heat-none { background: #fff; color: #5b6775; }"])


def _x(value: float, left: float, width: float) -> float:
    return left + width * max(0.0, min(100.0, value)) / 100


def board_chart(rows: list[dict], *, title: str) -> Markup:
    """Horizontal bars: mean with its 90% interval, target (orange tick) and the network's
    best quartile (purple diamond). rows: {label, mean, ci, target, best, small}.
    Each label sits on its own line above its bar, in a 360-unit-wide drawing: on a 390 px
    phone the text stays at its own size (13 units, at least 12 px) instead of shrinking."""
    left, width, step, font = 4, 330, 44, 13
    height = 24 + step * len(rows)
    parts = [
        f'<svg class="chart board-chart" role="img" viewBox="0 0 360 {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="{font}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, 25, 50, 75, 100):
        x = _x(tick, left, width)
        anchor = "start" if tick == 0 else "end" if tick == 100 else "middle"
        parts.append(f'<line x1="{x:.1f}" y1="16" x2="{x:.1f}" y2="{height - 4}" '
                     f'stroke="#d5dbe2"/><text x="{x:.1f}" y="13" text-anchor="{anchor}" '
                     f'fill="#5b6775">{tick}</text>')
    for i, row in enumerate(rows):
        y = 22 + i * step
        mean = row.get("mean")
        parts.append(f'<text x="{left}" y="{y + 13}">{escape(row["label"])}</text>')
        if mean is None:
            continue
        y += 18
        opacity = "0.35" if row.get("small") else "1"
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{_x(mean, 0, width):.1f}" height="14" '
                     f'fill="{BAR}" fill-opacity="{opacity}"/>')
        if row.get("ci"):
            lo, hi = (_x(v, left, width) for v in row["ci"])
            parts.append(f'<line x1="{lo:.1f}" y1="{y + 11}" x2="{hi:.1f}" y2="{y + 11}" '
                         f'stroke="{CI}" stroke-width="1.5"/>'
                         + "".join(f'<line x1="{e:.1f}" y1="{y + 6}" x2="{e:.1f}" '
                                   f'y2="{y + 16}" stroke="{CI}"/>' for e in (lo, hi)))
        tx = _x(row["target"], left, width)
        parts.append(f'<line x1="{tx:.1f}" y1="{y}" x2="{tx:.1f}" y2="{y + 22}" '
                     f'stroke="{TARGET}" stroke-width="3"/>')
        if row.get("best") is not None:
            bx = _x(row["best"], left, width)
            parts.append(f'<path d="M{bx:.1f} {y + 5}l5 6-5 6-5-6z" fill="{BEST}"/>')
        label = f"{mean:.1f}" + (" ?" if row.get("small") else "")
        end = _x(mean, left, width)
        inside = end > left + width - 48  # no room on the right: write it inside the bar
        parts.append(f'<text x="{end - 4 if inside else end + 4:.1f}" y="{y + 16}" '
                     f'text-anchor="{"end" if inside else "start"}" '
                     f'fill="{"#fff" if inside else "#1d2733"}" font-weight="bold" '
                     f'paint-order="stroke" stroke="{BAR if inside else "#fff"}" stroke-width="3">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def board_chart_print(rows: list[dict], *, title: str) -> Markup:
    """The board chart for paper (PDF reports): label left, bar middle, value right, one
    15-unit row each, so thirty touchpoints fit one A4 page. (The phone layout's label above
    each bar needs 44 units a row: on A4 it ran off the page after a dozen rows, and an SVG
    cannot break across pages.) Same marks: mean, 90% interval, target, best quartile."""
    label_w, left, width, step, font = 150, 156, 300, 15, 9
    value_x = left + width + 44
    height = 18 + step * len(rows)
    parts = [
        f'<svg class="chart board-chart" role="img" viewBox="0 0 {value_x + 4} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" '
        f'font-size="{font}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, 25, 50, 75, 100):
        x = _x(tick, left, width)
        parts.append(f'<line x1="{x:.1f}" y1="12" x2="{x:.1f}" y2="{height}" stroke="#d5dbe2"/>'
                     f'<text x="{x:.1f}" y="9" text-anchor="middle" fill="#5b6775">{tick}</text>')
    for i, row in enumerate(rows):
        y = 14 + i * step
        mean = row.get("mean")
        parts.append(f'<text x="{label_w}" y="{y + 10}" text-anchor="end">'
                     f'{escape(row["label"])}</text>')
        if mean is None:
            continue
        opacity = "0.35" if row.get("small") else "1"
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{_x(mean, 0, width):.1f}" '
                     f'height="9" fill="{BAR}" fill-opacity="{opacity}"/>')
        if row.get("ci"):
            lo, hi = (_x(v, left, width) for v in row["ci"])
            parts.append(f'<line x1="{lo:.1f}" y1="{y + 6.5}" x2="{hi:.1f}" y2="{y + 6.5}" '
                         f'stroke="{CI}"/>' + "".join(
                             f'<line x1="{e:.1f}" y1="{y + 3.5}" x2="{e:.1f}" y2="{y + 9.5}" '
                             f'stroke="{CI}"/>' for e in (lo, hi)))
        tx = _x(row["target"], left, width)
        parts.append(f'<line x1="{tx:.1f}" y1="{y}" x2="{tx:.1f}" y2="{y + 13}" '
                     f'stroke="{TARGET}" stroke-width="2"/>')
        if row.get("best") is not None:
            bx = _x(row["best"], left, width)
            parts.append(f'<path d="M{bx:.1f} {y + 2.5}l4 4-4 4-4-4z" fill="{BEST}"/>')
        label = f"{mean:.1f}" + (" ?" if row.get("small") else "")
        parts.append(f'<text x="{value_x}" y="{y + 10}" text-anchor="end" font-weight="bold">'
                     f"{escape(label)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(points: list[tuple[str, float | None, int]], *, target: float,
                title: str, width: int = 300, height: int = 100) -> Markup:
    """A small line chart of monthly means (gaps where a month has no data), target dashed.
    points: (month label, mean or None, n)."""
    left, right, top, bottom = 30, 8, 10, 20
    inner_w, inner_h = width - left - right, height - top - bottom
    known = [m for _l, m, _n in points if m is not None] + [target]
    low = max(0.0, min(known) - 5)
    high = min(100.0, max(known) + 5)
    span = max(high - low, 1.0)

    def y(v: float) -> float:
        return top + inner_h * (1 - (v - low) / span)

    def x(i: int) -> float:
        return left + (inner_w * i / (len(points) - 1) if len(points) > 1 else inner_w / 2)

    parts = [
        f'<svg class="spark" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{y(target):.1f}" x2="{width - right}" y2="{y(target):.1f}" '
        f'stroke="{TARGET}" stroke-dasharray="4 3"/>',
        f'<text x="2" y="{y(high) + 8:.1f}" fill="#5b6775">{high:.0f}</text>',
        f'<text x="2" y="{y(low):.1f}" fill="#5b6775">{low:.0f}</text>',
    ]
    segment: list[str] = []
    for i, (_label, mean, _n) in enumerate(points + [("", None, 0)]):
        if mean is None:
            if len(segment) > 1:
                parts.append(f'<polyline points="{" ".join(segment)}" fill="none" '
                             f'stroke="{BAR}" stroke-width="2"/>')
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(mean):.1f}")
    for i, (label, mean, n) in enumerate(points):
        if mean is not None:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(mean):.1f}" r="2.5" fill="{BAR}">'
                         f"<title>{escape(label)}: {mean:.1f} (n={n})</title></circle>")
    # the first label starts at its point and the last ends at its point: neither is cut off
    for i, anchor in ((0, "start"), (len(points) - 1, "end")):
        if points and (i == 0 or len(points) > 1):
            parts.append(f'<text x="{x(i) if i else 2:.1f}" y="{height - 4}" text-anchor="{anchor}" '
                         f'fill="#5b6775">{escape(points[i][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
