"""The CJK fonts for PDFs: regular and bold subsets of Noto Sans SC, cut with fontTools.

Where from: the npm registry's `@expo-google-fonts/noto-sans-sc` (pinned in
fontsrc/package.json), which `make fonts` installs into build/fonts/ for this step only. It ships
the full TrueType files (about 10.5 MB per weight), so no system package and no root is needed,
on Debian as on macOS.

Why a subset: WeasyPrint draws blank boxes (and raises nothing) when it finds no CJK font; the
full font is slow (seconds for a 5-page document), and web fonts sliced by `unicode-range` come
out as the wrong characters. One file per weight with all of GB2312 (levels 1 and 2: 6,763 hanzi;
level 1 alone misses store-name characters such as 圳, 闵 and 禅), ASCII, CJK punctuation,
full-width forms and every character of the zh interface texts; a PDF embeds only the glyphs it
uses. Why bold is its own file: without it WeasyPrint fakes bold by smearing the regular outline.

Store names may hold characters outside GB2312 (a rare surname, a traditional form): a document
about to be rendered with such characters has them added to both subsets once (a few seconds,
remembered in static/fonts/extra-characters.txt), while the source font is there; otherwise
they fall back to the system font (see templates/reports/_fonts.html).
"""

from __future__ import annotations

import os
import re
import sys
import threading
from functools import lru_cache
from pathlib import Path

from .config import ROOT

PACKAGE = ROOT / "build" / "fonts" / "node_modules" / "@expo-google-fonts" / "noto-sans-sc"
SOURCES = {
    400: PACKAGE / "400Regular" / "NotoSansSC_400Regular.ttf",
    700: PACKAGE / "700Bold" / "NotoSansSC_700Bold.ttf",
}
TARGETS = {
    400: ROOT / "static" / "fonts" / "TouchpointCJK-Regular.ttf",
    700: ROOT / "static" / "fonts" / "TouchpointCJK-Bold.ttf",
}
EXTRA = ROOT / "static" / "fonts" / "extra-characters.txt"
FAMILY = "Touchpoint CJK"


def characters(extra: str = "") -> str:
    """GB2312, ASCII, punctuation, the zh message catalogue, remembered extras and `extra`."""
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
    if EXTRA.exists():
        chars |= set(EXTRA.read_text("utf-8"))
    chars |= set(extra)
    return "".join(sorted(c for c in chars if c.isprintable()))


def build(weight: int, extra: str = "") -> Path:
    """Cut one weight's subset (a few seconds); returns the target path."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(SOURCES[weight]))
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters(extra))
    subsetter.subset(font)
    target = TARGETS[weight]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")  # concurrent builders
    font.save(str(partial))
    partial.replace(target)
    return target


def build_all(extra: str = "") -> list[Path]:
    return [build(weight, extra) for weight in sorted(SOURCES)]


@lru_cache(maxsize=4)
def _covered(path: str, mtime: float) -> frozenset[str]:
    from fontTools.ttLib import TTFont

    return frozenset(chr(c) for c in TTFont(path, lazy=True).getBestCmap())


def _missing(text: str) -> str:
    """Characters of `text` a subset lacks that the source font has (hanzi and the like)."""
    target = TARGETS[400]
    wanted = {c for c in text if ord(c) >= 0x2E80 and c.isprintable()}
    if not wanted:
        return ""
    covered = _covered(str(target), target.stat().st_mtime)
    return "".join(sorted(wanted - covered))


def faces(text: str = "") -> dict[int, Path]:
    """The subsets by weight, built now if missing (or if `text` needs characters they lack)
    while the source font is installed. Empty when neither subset nor source exists."""
    sources_there = all(source.exists() for source in SOURCES.values())
    if not all(target.exists() for target in TARGETS.values()):
        if not sources_there:
            return {}
        build_all()
    if sources_there:
        missing = _missing(text)
        if missing:
            EXTRA.write_text("".join(sorted(set(missing) | (
                set(EXTRA.read_text("utf-8")) if EXTRA.exists() else set()))), "utf-8")
            build_all()
    return dict(TARGETS)


_local = threading.local()


def font_config():
    """The WeasyPrint font configuration to render with, kept per thread and per version of
    the subsets. A fresh one for each document copies both 2.2 MB subsets into a new
    temporary folder, has Fontconfig and Pango load them again and starts with an empty
    line-metrics cache. Per thread: a Pango font map is not safe to share between threads.
    Per version: a configuration never reloads a face it has seen, so subsets rebuilt with
    extra characters need a new one."""
    from weasyprint.text.fonts import FontConfiguration

    version = tuple(target.stat().st_mtime_ns if target.exists() else 0
                    for target in TARGETS.values())
    kept = getattr(_local, "kept", None)
    if kept is None or kept[0] != version:
        kept = _local.kept = (version, FontConfiguration())
    return kept[1]


if __name__ == "__main__":  # `python -m app.fonts`: used by `make fonts`
    for path in build_all():
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB, "
              f"{len(characters())} characters")
    sys.exit(0)
