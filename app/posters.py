"""QR codes (segno, SVG) and printable PDFs (WeasyPrint): the A4 poster, the table card and
the sheet of per-visit codes. A PDF is an HTML template under templates/reports/ rendered with
the CJK subset fonts, regular and bold (app/fonts.py), loaded by `@font-face`, so Chinese renders
right and fast.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import segno
from flask import current_app, render_template, request, url_for

from . import fonts, tokens
from .config import ROOT

REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-/.#]{0,63}$")
MAX_CODES = 500  # per batch: a few pages of invoices, not a bulk export


@dataclass(frozen=True)
class Code:
    """One printable code: what it points at and the image that encodes it."""

    url: str
    svg_uri: str
    reference: str = ""


def survey_url(token: str) -> str:
    """Absolute URL of the public survey; PUBLIC_BASE_URL wins over the admin's own host."""
    base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root
    return base.rstrip("/") + url_for("public.survey", token=token)


def qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def code_for(token: str, reference: str = "") -> Code:
    url = survey_url(token)
    return Code(url=url, svg_uri=qr(url).svg_data_uri(scale=4, border=2), reference=reference)


def store_token(store_id: int, instrument_id: str) -> str:
    days = current_app.config["QR_POSTER_DAYS"]
    return tokens.make(tokens.SurveyCode(store_id, instrument_id, tokens.expiry_after(days)))


def qr_svg(url: str) -> bytes:
    out = io.BytesIO()
    qr(url).save(out, kind="svg", scale=10, border=4, xmldecl=True, svgns=True)
    return out.getvalue()


def render_pdf(template: str, **context) -> bytes:
    from weasyprint import HTML

    faces = fonts.faces()
    html = render_template(template, font_faces={w: p.as_uri() for w, p in faces.items()},
                           font_family=fonts.FAMILY, **context)
    if faces:
        fonts.faces(html)  # a store name beyond GB2312 joins the subsets before WeasyPrint reads them
    return HTML(string=html, base_url=str(ROOT)).write_pdf(font_config=fonts.font_config())


class ReferenceListError(ValueError):
    """A bad order-number list; `message` is for the user (already translated)."""


def references_from_csv(data: bytes) -> list[str]:
    """Order or delivery numbers from the first column of an uploaded CSV (a header row is
    skipped when its first cell is not a number-like reference); duplicates dropped."""
    from flask_babel import gettext as _

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as error:
            raise ReferenceListError(_("The file could not be read as CSV text.")) from error
    found: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if not REFERENCE.match(cell):
            if number == 1:
                continue  # a header such as 订单号 / order
            raise ReferenceListError(_("Line %(n)s: '%(value)s' is not an order number.",
                                    n=number, value=cell[:40]))
        if cell not in found:
            found.append(cell)
    if not found:
        raise ReferenceListError(_("The file has no order numbers in its first column."))
    if len(found) > MAX_CODES:
        raise ReferenceListError(_("At most %(n)s codes per sheet.", n=MAX_CODES))
    return found
