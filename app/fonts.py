"""The CJK font for PDFs: one subset of Debian's Noto Sans CJK SC, cut with fontTools.

Why a subset: WeasyPrint draws blank boxes (and raises nothing) when it finds no CJK font; the
full system font is slow (about 7 s for a 5-page document), and web fonts sliced by
`unicode-range` come out as the wrong characters. One file with all of GB2312 (levels 1 and 2:
6,763 hanzi; level 1 alone misses store-name characters such as 圳, 闵 and 禅), ASCII, CJK
punctuation, full-width forms and every character of the zh interface texts: about 2.7 MB,
about 0.15 s for a 5-page document, and a PDF embeds only the glyphs it uses.
A character outside the subset falls back to the system font (see templates/reports/_fonts.css).

`make fonts` builds it into static/fonts/ (git-ignored); `font_path()` builds it on first use
when the system font is there.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .config import ROOT

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TARGET = ROOT / "static" / "fonts" / "TouchpointCJK-Regular.otf"
FAMILY = "Touchpoint CJK"
_SC_INDEX_NAME = "Noto Sans CJK SC"


def characters() -> str:
    """GB2312, ASCII, punctuation, and the characters of the zh message catalogue."""
    chars = {chr(c) for c in range(0x20, 0x7F)}
    chars |= {chr(c) for c in range(0x3000, 0x3040)}  # CJK symbols and punctuation
    chars |= {chr(c) for c in range(0xFF01, 0xFF5F)}  # full-width forms
    chars |= set("·—–‘’“”…※→←↑↓×÷±°℃№")
    for high in range(0xB0, 0xF8):  # GB2312 rows 16-87: level 1 and 2 hanzi
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    catalogue = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    if catalogue.exists():
        for text in re.findall(r'^msgstr "(.*)"$', catalogue.read_text("utf-8"), re.M):
            chars |= set(text)
    return "".join(sorted(c for c in chars if c.isprintable()))


def build(source: Path = SOURCE, target: Path = TARGET) -> Path:
    """Cut the subset (a few seconds); returns the target path."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(source))
    font = next(
        (f for f in collection.fonts if _SC_INDEX_NAME in (f["name"].getDebugName(1) or "")),
        collection.fonts[0],
    )
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters())
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    font.save(str(partial))
    partial.replace(target)
    return target


def font_path() -> Path | None:
    """The subset font, built now if missing and the system font is installed."""
    if TARGET.exists():
        return TARGET
    if SOURCE.exists():
        return build()
    return None


if __name__ == "__main__":  # `python -m app.fonts`: used by `make fonts`
    path = build()
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB, {len(characters())} characters")
    sys.exit(0)
