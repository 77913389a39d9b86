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
- A **line-row** is any other plain or highlighted row, a lone row included: each run of adjacent
  values that fit their columns on one line is one cell spanning those columns, with an ordinary
  row's padding, rule and background; a value that wraps, or holds a character the body font does
  not draw alone (another script, a zero-width break) or spaces a cell would collapse, keeps its
  own cell, which WeasyPrint lays out (so a PDF's text still reads cell by cell).

Totals, subtotals and group headings stay ordinary rows. Without the body font's metrics nothing
is banded, nor is a table whose values made column_widths.py shrink its font (the lines are
placed for FONT_SIZE_PT). The HTML file has neither.
"""

from __future__ import annotations

import bisect
import functools
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
PLAIN = frozenset({"", "alt"})
LINE_ROW_CLASSES = frozenset({"alt", "hl"})  # rows that may be drawn as one cell (`line-row`)
RIGHT_ALIGNED = frozenset({"num"})
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
    """Values placed on one line of text in the body font, each at its column's edge."""

    def __init__(self, face: font_metrics.Face, cols: list[Column]):
        self.face, self.cols, self.padder = face, cols, _padder(face)
        self.scale = face.units_per_em / FONT_SIZE_PT  # font units per pt
        self.edges = [(col.left - CELL_PADDING_PT) * self.scale for col in cols] + [(cols[-1].right + CELL_PADDING_PT) * self.scale]

    def fits(self, value: str, index: int, border: float = 0.0) -> int | None:
        """The advance of `value` if it fits column `index` on one line (None: it does not, or a
        character is not drawn by the face alone)."""
        if value[:1] == " " or value[-1:] == " " or "  " in value:  # an ordinary cell collapses these
            return None
        units = self.face.units(value)
        col = self.cols[index]
        room = (col.right - col.left - (border if index == 0 else 0.0)) * self.scale  # exact, as Pango fits
        return units if units is not None and units <= room else None

    def segment(self, values: list[str], first: int, last: int, border: float = 0.0) -> str | None:
        """Columns first..last of a row as one line that fills their cells from edge to edge (a
        cell without padding, so its underline or bottom rule spans them). `border`: the part of a
        left border inside the first cell, in pt (a highlighted row's): it moves column 0's
        content edge. None when a value does not fit its column on one line."""
        parts, cursor = [], self.edges[first] + (border * self.scale if first == 0 else 0.0)
        for index in range(first, last + 1):
            value = values[index]
            units = self.fits(value, index, border)
            if units is None:
                return None
            if not value:
                continue
            col = self.cols[index]
            start = col.right * self.scale - units if col.align_right else \
                (col.left + (border if index == 0 else 0.0)) * self.scale
            pad, width = self.padder.run(start - cursor)
            parts.append(pad)
            parts.append(value)
            cursor += width + units
        parts.append(self.padder.run(self.edges[last + 1] - cursor)[0])  # to the last cell's far edge
        return "".join(parts)

    def line(self, values: list[str], border: float = 0.0) -> str | None:
        """The whole row as one line, or None if a value does not fit its column on one line."""
        return self.segment(values, 0, len(values) - 1, border)

    def cells(self, row: Row, border: float = 0.0) -> list[tuple[str, str, int]] | None:
        """The row's cells with every run of adjacent columns whose values fit on one line drawn as
        one cell spanning them (a value that wraps keeps its own cell, which WeasyPrint wraps);
        None when nothing would be saved (no run of two)."""
        values = [value for value, _ in row.cells]
        out: list[tuple[str, str, int]] = []
        index, saved = 0, False
        while index < len(values):
            end = index
            while end < len(values) and self.fits(values[end], end, border) is not None:
                end += 1
            if end == index:  # wraps, or drawn by another face: its own cell, as ordinary rows have it
                out.append((*row.cells[index], 1))
                index += 1
                continue
            out.append((self.segment(values, index, end - 1, border), "lines", end - index))
            saved = saved or end - index > 1
            index = end
        return out if saved else None


def body_face() -> font_metrics.Face | None:
    """The metrics bands place values with: the body font's regular face (None: no bands)."""
    return font_metrics.face(BODY_FONT, font_metrics.REGULAR)


def banded(rows: list[Row], widths: list[str], make, size: int = BAND_ROWS,
           face: font_metrics.Face | None | bool = True, last_apart: bool = False) -> list[Row]:
    """`rows` as few boxes as WeasyPrint can draw them the same: every run of plain one-line rows
    stacked into bands of at most `size` lines (`band`); in any other plain or highlighted row
    (`line-row`), each run of adjacent values that fit on one line drawn as one cell; the rest stay
    ordinary rows. `widths` are the columns' "12.50%" (a table at the body size, FONT_SIZE_PT);
    `make(cells, css, band)` makes a row, its cells (text, css, colspan). `face`: the body font's
    metrics (True: look them up). `last_apart`: the last row never joins a band (a row after it
    must not be parted from it, and WeasyPrint would move a whole band to keep them together)."""
    if face is True:
        face = body_face()
    if not face or not rows or not rows[0].cells:
        return rows
    maker = LineMaker(face, columns(widths, [css for _, css in rows[0].cells]))
    columns_count = len(rows[0].cells)
    out: list[Row] = []
    run: list[tuple[Row, str]] = []

    def flush() -> None:
        for start in range(0, len(run), size):
            chunk = run[start:start + size]
            css = "band" if len(chunk) > 1 else _line_row_css(chunk[0][0].css)
            out.append(make([("\n".join(line for _, line in chunk), "lines", columns_count)], css, True))
        run.clear()

    for number, row in enumerate(rows, 1):
        line = maker.line([value for value, _ in row.cells]) if row.css in PLAIN else None
        if line is not None:
            if last_apart and number == len(rows):
                flush()  # the last row alone: a line-row
            run.append((row, line))
            continue
        flush()
        classes = set(row.css.split())
        cells = maker.cells(row, HIGHLIGHT_BORDER_PT / 2 if "hl" in classes else 0.0) \
            if classes <= LINE_ROW_CLASSES else None
        out.append(row if cells is None else make(cells, _line_row_css(row.css), True))
    flush()
    return out


def _line_row_css(css: str) -> str:
    return f"{css} line-row".strip()
