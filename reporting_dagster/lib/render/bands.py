"""PDF only: runs of plain table rows stacked into "bands", one table cell of one text line per row.

WeasyPrint's cost is per line box (~0.25 ms to lay out and draw one, whatever it holds): an
ordinary row of eight cells is eight line boxes. A band is one <tr> with one cell spanning every
column, holding up to BAND_ROWS rows as lines (`white-space: pre`, line height = the row pitch);
in a line, each value starts at its column's left edge (text, dates) or ends at its right edge
(numbers), placed by space characters whose widths come from the font file itself
(font_metrics.py), so the text sits where ordinary cells put it, within a few hundredths of a
point, at about a sixth of the cost. `report_print.css` draws each row's rule as its line's
underline (no zebra stripes in the PDF). A band may break across pages between
its lines, as rows do.

Only a row whose every value is measured and fits its column on one line joins a band; any other
row (one that may wrap, a character the body font does not draw, a highlighted row) stays an
ordinary row. Without the body font's metrics nothing is banded, nor is a table whose values made
column_widths.py shrink its font (the lines are placed for FONT_SIZE_PT). The HTML file has no bands.
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
FIT_RESERVE_PT = 0.5  # a value this close to its column's far edge stays an ordinary row
PLAIN = frozenset({"", "alt"})
RIGHT_ALIGNED = frozenset({"num"})
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
    """One row's values as one line of text in the body font, or None when a value will not do."""

    def __init__(self, face: font_metrics.Face, cols: list[Column]):
        self.face, self.cols, self.padder = face, cols, _padder(face)
        self.scale = face.units_per_em / FONT_SIZE_PT  # font units per pt
        self.reserve = FIT_RESERVE_PT * self.scale
        self.width = TABLE_WIDTH_PT * self.scale

    def line(self, values: list[str]) -> str | None:
        parts, cursor = [], 0.0  # cursor: where the line ends so far, in font units
        for value, col in zip(values, self.cols):
            units = self.face.units(value)
            if units is None:
                return None
            left, right = col.left * self.scale, col.right * self.scale
            if units > right - left - self.reserve:
                return None
            start = right - units if col.align_right else left
            if value:
                pad, width = self.padder.run(start - cursor)
                parts.append(pad)
                parts.append(value)
                cursor += width + units
        parts.append(self.padder.run(self.width - cursor)[0])  # to the table's right edge: the rule's length
        return "".join(parts)


def body_face() -> font_metrics.Face | None:
    """The metrics bands place values with: the body font's regular face (None: no bands)."""
    return font_metrics.face(BODY_FONT, font_metrics.REGULAR)


def banded(rows: list[Row], widths: list[str], make, size: int = BAND_ROWS,
           face: font_metrics.Face | None | bool = True) -> list[Row]:
    """`rows` with every run of plain rows that fit stacked into bands of at most `size` lines;
    `widths` are the columns' "12.50%" (a table at the body size, FONT_SIZE_PT); `make(cells, css,
    band)` makes a row. `face`: the body font's metrics (True: look them up)."""
    if face is True:
        face = body_face()
    if not face or not rows:
        return rows
    maker = LineMaker(face, columns(widths, [css for _, css in rows[0].cells]))
    out: list[Row] = []
    run: list[tuple[Row, str]] = []

    def flush() -> None:
        for start in range(0, len(run), size):
            chunk = run[start:start + size]
            out.append(make([("\n".join(line for _, line in chunk), "lines")], "band", True)
                       if len(chunk) > 1 else chunk[0][0])
        run.clear()

    for row in rows:
        line = maker.line([value for value, _ in row.cells]) if row.css in PLAIN else None
        if line is None:
            flush()
            out.append(row)
        else:
            run.append((row, line))
    flush()
    return out
