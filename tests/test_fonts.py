"""PDF fonts: the regular and bold CJK subsets are what a printed page is set in, so a bold
heading is drawn with the bold face rather than a smeared regular one."""

from __future__ import annotations

import io
from types import SimpleNamespace

from app import fonts


def embedded_fonts(pdf: bytes) -> dict[str, tuple[str, int]]:
    """The PDF's font list: base font name -> (the embedded file's full name, its weight class).
    Names alone do not tell: WeasyPrint calls a regular face it smears into bold "-Bold" too."""
    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    found = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            embedded = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
            found[str(font["/BaseFont"])] = (embedded["name"].getDebugName(4),
                                             embedded["OS/2"].usWeightClass)
    return found


def test_a_bold_heading_embeds_the_bold_subset_beside_the_regular_one(bare_app):
    from app.posters import render_pdf

    with bare_app.test_request_context():
        pdf = render_pdf("reports/card.html", store=SimpleNamespace(name="深圳福田店"),
                         version=SimpleNamespace(title_zh="售后服务满意度调查", title_en="Aftersales"),
                         code=SimpleNamespace(svg_uri=""))
    embedded = sorted(embedded_fonts(pdf).values())
    # the title in regular, the store's name as a bold heading: both from our subsets
    assert embedded == [("Noto Sans SC Bold", 700), ("Noto Sans SC Regular", 400)], embedded


def test_both_subsets_hold_gb2312_and_the_interface_texts():
    for path in fonts.faces().values():
        covered = fonts._covered(str(path), path.stat().st_mtime)
        assert {"圳", "闵", "禅", "短", "板", "，"} <= covered
        assert set("扫码评价本次服务") <= covered


def test_a_store_name_beyond_gb2312_is_found_missing_so_it_can_join_the_subsets():
    fonts.faces()
    assert fonts._missing("上海喆店") == "喆"  # 喆 is GB18030, not GB2312
    assert fonts._missing("上海一店 Shanghai") == ""
