"""PDF only: table rows drawn as few boxes as WeasyPrint can draw them the same.

WeasyPrint's cost is per box and per line box (~0.25 ms to lay out and draw a line, whatever it
holds; ~60 us to style an element): an ordinary row of eight cells is eight cells and eight line
boxes. Here a row is one cell spanning every column, its text placed by space characters whose
widths come from the font file itself (font_metrics.py): each value starts at its column's left
edge (text, dates) or ends at its right edge (numbers), so the text sits where ordinary cells put
it, within about a tenth of a point (tests/test_pdf_rows.py reads the words' positions back).

- A **band** stacks a run of up to BAND_ROWS plain one-line rows as the lines of one cell
  (`white-space: pre`, line height = the row pitch); each row's rule is its line's underline
  (report_print.css; no zebra stripes in the PDF). A band breaks across pages between lines.
- A **line-row** is any other row whose values are all measured (a lone row, a highlighted row,
  a row whose text wraps): one cell holding its lines, text wrapped at spaces as CSS does (and a
  word longer than its column broken where the line ends, as `overflow-wrap: break-word` does),
  with an ordinary row's padding, rule and background.

A row with a character the body font does not draw alone (another script, a zero-width break)
stays an ordinary row, as do totals and group headings. Without the body font's metrics nothing
is banded, nor is a table whose values made column_widths.py shrink its font (the lines are
placed for FONT_SIZE_PT). The HTML file has neither.
"""

from __future__ import annotations

import bisect
import functools
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from reporting_dagster.lib.render import font_metrics

BAND_ROWS = 40
# report.css: the first family of table text, its size in table.data, A4 landscape less the 12 mm
# side margins of @page, and a cell's horizontal padding (4pt each side)
BODY_FONT = "DejaVu Sans"
FONT_SIZE_PT = 7.5
TABLE_WIDTH_PT = (297 - 24) / 25.4 * 72
CELL_PADDING_PT = 4.0
FIT_RESERVE_PT = 0.0  # room kept free at a column's far edge: none, the advances are exact (as WeasyPrint fits)
PLAIN = frozenset({"", "alt"})
LINE_ROW_CLASSES = frozenset({"alt", "hl"})  # rows that may be drawn as one cell (`line-row`)
RIGHT_ALIGNED = frozenset({"num"})
WRAPPING = frozenset({"text", "ident"})  # report.css: numbers and dates never wrap
NO_BREAK_PUNCTUATION = frozenset(" .,:;'\"&()%#@_+*=")  # UAX #14: no break opportunity next to letters
HIGHLIGHT_BORDER_PT = 2.5  # report.css: a highlighted row's left border, half of it inside its first cell
# spaces that pad a line, widest first; a face without one of them pads with the others
PAD_SPACES = ("\u2003", "\u2007", "\u2002", "\u2004", "\u0020", "\u2005", "\u2009", "\u2006", "\u200a")


class Row(Protocol):
    cells: list[tuple[str, str]]
    css: str
    band: bool


@dataclass(frozen=True)
class Column:
    left: float  # content box edges in pt, from the table's left edge
    right: float
    align_right: bool


class Padder:
    """Space runs of a chosen width: the run of PAD_SPACES closest to any gap, from a table of every
    sum reachable below a few em (fewest characters for each), plus em spaces for the rest."""

    def __init__(self, face: font_metrics.Face):
        self.spaces = [(ch, face.advances[ch]) for ch in PAD_SPACES if ch in face.advances]
        self.wide_char, self.wide = max(self.spaces, key=lambda s: s[1])
        self.span = 3 * self.wide
        best: dict[int, str] = {0: ""}
        for total in range(1, self.span + self.wide + 1):
            options = [best[total - width] + ch for ch, width in self.spaces if total - width in best]
            if options:
                best[total] = min(options, key=len)
        self.sums = sorted(best)
        self.runs = best

    def run(self, units: float) -> tuple[str, int]:
        """The space run closest to `units` (font units) and its exact width."""
        whole = 0
        if units > self.span:
            whole = int((units - self.span) // self.wide) + 1
            units -= whole * self.wide
        i = bisect.bisect_left(self.sums, units)
        nearest = min(self.sums[max(0, i - 1):i + 1], key=lambda s: abs(s - units))
        return self.wide_char * whole + self.runs[nearest], whole * self.wide + nearest


@functools.lru_cache(maxsize=2)
def _padder(face: font_metrics.Face) -> Padder:
    return Padder(face)


def columns(widths: list[str], css: list[str]) -> list[Column]:
    """The content boxes of columns given as "12.50%" of the table, in pt from the table's left edge."""
    out, left = [], 0.0
    for width, cell_css in zip(widths, css):
        pt = float(width.rstrip("%")) / 100 * TABLE_WIDTH_PT
        out.append(Column(left + CELL_PADDING_PT, left + pt - CELL_PADDING_PT, cell_css in RIGHT_ALIGNED))
        left += pt
    return out


class LineMaker:
    """A row's values as lines of text in the body font, each value at its column's edge; None when a
    value will not do (a character the face does not draw alone, a word wider than its column)."""

    def __init__(self, face: font_metrics.Face, cols: list[Column]):
        self.face, self.cols, self.padder = face, cols, _padder(face)
        self.scale = face.units_per_em / FONT_SIZE_PT  # font units per pt
        self.reserve = FIT_RESERVE_PT * self.scale
        self.width = TABLE_WIDTH_PT * self.scale
        self.space = face.advances.get(" ")

    def _wrapped(self, value: str, room: float, wraps: bool) -> list[tuple[str, int]] | None:
        """`value` broken at spaces into lines of at most `room` units, greedily as CSS does (None:
        unmeasured, or a word that would have to break inside)."""
        units = self.face.units(value)
        if units is None:
            return None
        if units <= room:
            return [(value, units)]
        if not wraps or self.space is None or "  " in value or value != value.strip(" ") or not _wraps_at_spaces(value):
            return None
        lines: list[tuple[str, int]] = []
        for word in value.split(" "):
            word_units = self.face.units(word)
            if lines and lines[-1][1] + self.space + word_units <= room:
                lines[-1] = (f"{lines[-1][0]} {word}", lines[-1][1] + self.space + word_units)
            elif word_units <= room:
                lines.append((word, word_units))
            else:  # overflow-wrap: break-word: a word longer than the line breaks where the line ends
                pieces = self._broken(word, room)
                if pieces is None:
                    return None
                lines.extend(pieces)
        return lines

    def _broken(self, word: str, room: float) -> list[tuple[str, int]] | None:
        pieces, piece, units = [], "", 0
        for ch in word:
            advance = self.face.advances[ch]
            if piece and units + advance > room:
                pieces.append((piece, units))
                piece, units = "", 0
            piece, units = piece + ch, units + advance
        if units > room:  # one character wider than the column
            return None
        pieces.append((piece, units))
        return pieces

    def lines(self, values: list[str], wraps: list[bool], border: float = 0.0) -> list[str] | None:
        """The row as text lines (a value that wraps takes several, top-aligned as cells are).
        `border`: the part of a left border inside the first cell, in pt (a highlighted row's): it
        moves the cell's content start and the first column's content edge."""
        cols = self.cols if not border else [
            Column(self.cols[0].left + border, self.cols[0].right, self.cols[0].align_right), *self.cols[1:]]
        cells = []
        for value, col, wrap in zip(values, cols, wraps):
            cell = self._wrapped(value, (col.right - col.left) * self.scale - self.reserve, wrap)
            if cell is None:
                return None
            cells.append(cell)
        out = []
        for k in range(max((len(c) for c in cells), default=1)):
            parts, cursor = [], border * self.scale  # cursor: where the line ends so far, in font units
            for cell, col in zip(cells, cols):
                if k >= len(cell) or not cell[k][0]:
                    continue
                text, units = cell[k]
                start = col.right * self.scale - units if col.align_right else col.left * self.scale
                pad, width = self.padder.run(start - cursor)
                parts.append(pad)
                parts.append(text)
                cursor += width + units
            parts.append(self.padder.run(self.width - cursor)[0])  # to the table's right edge: the rule's length
            out.append("".join(parts))
        return out

    def line(self, values: list[str]) -> str | None:
        """The row as one line, or None if it needs more than one."""
        found = self.lines(values, [False] * len(values))
        return found[0] if found else None


def body_face() -> font_metrics.Face | None:
    """The metrics bands place values with: the body font's regular face (None: no bands)."""
    return font_metrics.face(BODY_FONT, font_metrics.REGULAR)


def banded(rows: list[Row], widths: list[str], make, size: int = BAND_ROWS,
           face: font_metrics.Face | None | bool = True) -> list[Row]:
    """`rows` as few boxes as WeasyPrint can draw them the same: every run of plain one-line rows
    stacked into bands of at most `size` lines (`band`), and any other row whose values are all
    measured as one cell of its lines (`line-row`: a lone row, a highlighted row, a row whose text
    wraps at spaces); the rest stay ordinary rows. `widths` are the columns' "12.50%" (a table at the
    body size, FONT_SIZE_PT); `make(cells, css, band)` makes a row. `face`: the body font's metrics (True: look them up)."""
    if face is True:
        face = body_face()
    if not face or not rows:
        return rows
    css = [cell_css for _, cell_css in rows[0].cells]
    maker = LineMaker(face, columns(widths, css))
    wraps = [cell_css in WRAPPING for cell_css in css]
    out: list[Row] = []
    run: list[tuple[Row, str]] = []

    def flush() -> None:
        for start in range(0, len(run), size):
            chunk = run[start:start + size]
            if len(chunk) > 1:
                out.append(make([("\n".join(line for _, line in chunk), "lines")], "band", True))
            else:
                out.append(make([(chunk[0][1], "lines")], _line_row_css(chunk[0][0].css), True))
        run.clear()

    for row in rows:
        values = [value for value, _ in row.cells]
        line = maker.line(values) if row.css in PLAIN else None
        if line is not None:
            run.append((row, line))
            continue
        flush()
        marked = "hl" in row.css.split()
        lines = maker.lines(values, wraps, HIGHLIGHT_BORDER_PT / 2 if marked else 0.0) \
            if set(row.css.split()) <= LINE_ROW_CLASSES else None
        out.append(row if lines is None else make([("\n".join(lines), "lines")], _line_row_css(row.css), True))
    flush()
    return out


def _wraps_at_spaces(value: str) -> bool:
    """Whether Pango (UAX #14) can break `value` only at its spaces: letters, digits and punctuation
    that never open a break between them. A hyphen, slash, dash, ! or ? can, so a value holding one
    that must wrap stays an ordinary row, where WeasyPrint breaks it itself."""
    return all(ch in NO_BREAK_PUNCTUATION or unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Nd") for ch in value)


def _line_row_css(css: str) -> str:
    return f"{css} line-row".strip()
