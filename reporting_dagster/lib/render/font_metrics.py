"""Advance widths of the PDF's body font, read from the file fontconfig picks for it (as Pango does).

bands.py places every value of a banded row by padding with space characters, and html.py sizes
columns from the widest value each will hold (column_widths.py), so both need the exact width of a
run of text: with kerning and ligatures off (report_print.css turns them off in table cells), a run
is the sum of its characters' advances. Bold totals are wider than regular rows, so a face is
loaded by family and weight. `face()` is None when fontconfig, fontTools or the face itself is
missing (fontconfig substituted another family, or a regular face for the bold one): then no row is
banded and widths are estimated, and the PDF is the same, only slower and less tightly laid out.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import unicodedata
from dataclasses import dataclass, field

# characters a band may hold: drawn alone, one advance each (no combining marks, controls,
# zero-width or format characters, which shaping would attach to a neighbour or drop)
_UNSPACED = {"Mn", "Me", "Mc", "Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@dataclass(eq=False)  # hashed by identity: one per family and process (face() caches it)
class Face:
    family: str
    path: str
    units_per_em: int
    advances: dict[str, int]  # character -> advance, in font units
    _widths: dict[str, int | None] = field(default_factory=dict, repr=False)

    def units(self, text: str) -> int | None:
        """The advance of `text` in font units; None if a character is not drawn by this face alone."""
        known = self._widths.get(text, -1)
        if known != -1:
            return known
        total = 0
        advances = self.advances
        for ch in text:
            advance = advances.get(ch)
            if advance is None:
                total = None
                break
            total += advance
        if len(self._widths) > 200_000:  # a bounded memo: values repeat (names, amounts, dates)
            self._widths.clear()
        self._widths[text] = total
        return total

    def width(self, text: str) -> int:
        """The advance of `text` in font units, a character this face lacks counted as one em (a
        fallback font draws it: CJK ideographs are one em wide, most other scripts narrower)."""
        known = self.units(text)
        if known is not None:
            return known
        advances, em = self.advances, self.units_per_em
        return sum(advances.get(ch, em) for ch in text)


REGULAR, BOLD = "regular", "bold"
_BOLD_WEIGHT_CLASS = 600  # OS/2 usWeightClass from which a face is bold (CSS 600+)


def _fontconfig_file(family: str, weight: str = REGULAR) -> tuple[str, str] | None:
    """(family, file) of fontconfig's best match for `family` at `weight`, or None."""
    name = ctypes.util.find_library("fontconfig")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.FcNameParse.restype = ctypes.c_void_p
    lib.FcNameParse.argtypes = [ctypes.c_char_p]
    lib.FcConfigSubstitute.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
    lib.FcDefaultSubstitute.argtypes = [ctypes.c_void_p]
    lib.FcFontMatch.restype = ctypes.c_void_p
    lib.FcFontMatch.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    lib.FcPatternGetString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                       ctypes.POINTER(ctypes.c_char_p)]
    lib.FcPatternDestroy.argtypes = [ctypes.c_void_p]
    pattern = lib.FcNameParse(f"{family}:{weight}".encode())
    if not pattern:
        return None
    try:
        lib.FcConfigSubstitute(None, pattern, 0)  # FcMatchPattern, on the current configuration
        lib.FcDefaultSubstitute(pattern)
        result = ctypes.c_int()
        match = lib.FcFontMatch(None, pattern, ctypes.byref(result))
        if not match:
            return None
        try:
            found_family, found_file = ctypes.c_char_p(), ctypes.c_char_p()
            if (lib.FcPatternGetString(match, b"family", 0, ctypes.byref(found_family)) != 0
                    or lib.FcPatternGetString(match, b"file", 0, ctypes.byref(found_file)) != 0):
                return None
            return found_family.value.decode("utf-8", "replace"), found_file.value.decode("utf-8", "replace")
        finally:
            lib.FcPatternDestroy(match)
    finally:
        lib.FcPatternDestroy(pattern)


def load(family: str, path: str, weight: str = REGULAR) -> Face | None:
    """The advances of every character the font at `path` draws alone; None when the file is not
    of `weight` (a regular file for a bold face: Pango would embolden it, with other widths)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        weight_class = font["OS/2"].usWeightClass if "OS/2" in font else 400
        if (weight_class >= _BOLD_WEIGHT_CLASS) != (weight == BOLD):
            return None
        metrics = font["hmtx"].metrics
        advances = {
            chr(code): metrics[glyph][0]
            for code, glyph in font.getBestCmap().items()
            if glyph in metrics and metrics[glyph][0] > 0 and unicodedata.category(chr(code)) not in _UNSPACED
        }
        return Face(family, path, font["head"].unitsPerEm, advances)


@functools.lru_cache(maxsize=8)
def face(family: str, weight: str = REGULAR) -> Face | None:
    """The `weight` ("regular" or "bold") face of `family`, or None if it is not installed (or
    cannot be read)."""
    try:
        found = _fontconfig_file(family, weight)
        if found is None or found[0].casefold() != family.casefold():
            return None
        return load(*found, weight)
    except Exception:  # noqa: BLE001 - no metrics only means no bands
        return None
