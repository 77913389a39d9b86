"""Table column widths from the widest value each column will hold, measured in the body font.

A table is `table-layout: fixed` on A4 landscape (bands.TABLE_WIDTH_PT), so a column is exactly as
wide as html.py says; a value wider than its column wraps or runs into the next one. Numbers, dates
and identifiers (css `num`, `date`, `ident`) must do neither, so they get the room they need first:
the widest value of the column, totals included and measured in bold (font_metrics, with kerning
off as in the PDF's cells), plus the cell's padding; an identifier column holding several codes
("INV-1, INV-2") needs its widest code, and grows toward its widest whole value with the room left. The
header's longest word fits too (7pt bold capitals, letter-spaced). Free text gets what is left, at
least its longest word up to a cap, and wraps at word boundaries.

When even that does not fit, the table's font shrinks a step (SIZES) instead of abbreviating: a
finance reader needs every digit of an amount and every character of an invoice number, and a
smaller font keeps both exact on the page. A shrunk table has no bands (bands.py places values for
the body size only); it is rare (amounts in the hundreds of billions across many columns). Past the
last step the header words may break, then the columns share what there is (values may overflow).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reporting_dagster.lib.render import font_metrics
from reporting_dagster.lib.render.bands import BODY_FONT, TABLE_WIDTH_PT
from reporting_dagster.lib.render.bands import CELL_PADDING_PT as _SIDE_PADDING_PT

CELL_PADDING_PT = 2 * _SIDE_PADDING_PT  # report.css: 4pt each side of td and th
SLACK_PT = 1.5  # the percentages' rounding and Pango's positioning, on top of the measured width
HEADER_LETTER_SPACING_PT = 0.2  # report.css: table.data th letter-spacing
RIGID = frozenset({"num", "date", "ident"})


@dataclass(frozen=True)
class Size:
    cell_pt: float  # table.data font-size (td)
    header_pt: float  # table.data th font-size
    css: str  # the table's extra class in report.css ("" = the body size)


SIZES = (Size(7.5, 7.0, ""), Size(6.5, 6.0, "small"), Size(5.5, 5.5, "smaller"))
# free text (at the body size; scaled with the font): never narrower than TEXT_FLOOR_PT; its longest
# word is given room up to TEXT_WORD_CAP_PT (a longer one breaks inside), its typical value (the
# 75th percentile) up to TEXT_PREFERRED_CAP_PT before leftover room is shared
TEXT_FLOOR_PT = 28.0
TEXT_WORD_CAP_PT = 72.0
TEXT_PREFERRED_CAP_PT = 170.0
_ESTIMATE_EM = 0.62  # without the font's metrics: an average character of DejaVu Sans, in em
_BOLD_ESTIMATE = 1.1  # without the bold face: bold is about this much wider
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u00ad"), None)  # html.layout_breaks' break opportunities


@dataclass(frozen=True)
class Layout:
    widths: list[str]  # each column's share of the table, "12.50%"
    size_css: str  # "" at the body size, else the report.css class of the smaller font (no bands)


class Measure:
    """Widths in pt of text in the body font, regular or bold; estimated without the metrics."""

    def __init__(self) -> None:
        self.regular = font_metrics.face(BODY_FONT, font_metrics.REGULAR)
        self.bold = font_metrics.face(BODY_FONT, font_metrics.BOLD)

    def __call__(self, text: str, size_pt: float, bold: bool = False) -> float:
        text = text.translate(_INVISIBLE)
        face = self.bold if bold else self.regular
        if face is None and bold and self.regular is not None:
            return self(text, size_pt) * _BOLD_ESTIMATE
        if face is None:
            return len(text) * _ESTIMATE_EM * size_pt * (_BOLD_ESTIMATE if bold else 1.0)
        return face.width(text) / face.units_per_em * size_pt

    def lines(self, text: str, size_pt: float, bold: bool = False) -> float:
        """The widest line of `text`."""
        return max((self(line, size_pt, bold) for line in text.split("\n")), default=0.0)

    def words(self, text: str, size_pt: float, bold: bool = False) -> float:
        """The widest word of `text` (what cannot wrap)."""
        return max((self(word, size_pt, bold) for word in text.split()), default=0.0)

    def label(self, label: str, size_pt: float) -> float:
        """The widest word of a header label: bold capitals, letter-spaced."""
        return max((self(w, size_pt, True) + HEADER_LETTER_SPACING_PT * len(w) for w in label.upper().split()),
                   default=0.0)


@dataclass(frozen=True)
class _Need:
    least: float  # pt, padding included: below this a value wraps or overflows
    wanted: float  # pt: the room that shows every value whole (>= least)
    rigid: bool


def _need(css: str, label: str, body: Sequence[str], totals: Sequence[str], size: Size, measure: Measure,
          labels: bool) -> _Need:
    scale = size.cell_pt / SIZES[0].cell_pt
    header = measure.label(label, size.header_pt) if labels else 0.0
    if css in RIGID:
        whole = max([measure.lines(v, size.cell_pt) for v in body]
                    + [measure.lines(v, size.cell_pt, True) for v in totals], default=0.0)
        if css == "ident":  # several codes in one cell may wrap between codes, never inside one
            least = max([measure.words(v, size.cell_pt) for v in body]
                        + [measure.words(v, size.cell_pt, True) for v in totals], default=0.0)
        else:
            least = whole
        least = max(least, header) + CELL_PADDING_PT + SLACK_PT
        return _Need(least, max(least, whole + CELL_PADDING_PT + SLACK_PT), True)
    word = max([measure.words(v, size.cell_pt) for v in body]
               + [measure.words(v, size.cell_pt, True) for v in totals], default=0.0)
    least = max(min(word, TEXT_WORD_CAP_PT * scale), header, TEXT_FLOOR_PT * scale) + CELL_PADDING_PT
    values = sorted(measure.lines(v, size.cell_pt) for v in body) or [0.0]
    typical = min(values[int(0.75 * (len(values) - 1))], TEXT_PREFERRED_CAP_PT * scale) + CELL_PADDING_PT
    return _Need(least, max(least, typical), False)


def _grow(widths: list[float], needs: list[_Need], room: float, which: list[int]) -> float:
    """Widen the columns `which` toward what they want, in proportion to what each lacks; the room left."""
    lacking = {i: needs[i].wanted - widths[i] for i in which if needs[i].wanted > widths[i]}
    total = sum(lacking.values())
    if total <= 0 or room <= 0:
        return room
    share = min(1.0, room / total)
    for i, lack in lacking.items():
        widths[i] += lack * share
    return room - total * share


def _allocate(needs: list[_Need], width: float) -> list[float] | None:
    """Each column's width in pt, or None when the least they need does not fit `width`."""
    widths = [n.least for n in needs]
    room = width - sum(widths)
    if room < 0:
        return None
    # then every column toward what it wants (several codes on one line, typical text on fewer
    # lines) in proportion to what it lacks, so neither a code list nor a name takes all the room
    room = _grow(widths, needs, room, list(range(len(needs))))
    if room > 0:  # what is left goes to free text (fewer lines), or to every column without any
        takers = [i for i, n in enumerate(needs) if not n.rigid] or list(range(len(needs)))
        base = sum(widths[i] for i in takers) or 1.0
        for i in takers:
            widths[i] += room * widths[i] / base
    return widths


def layout(css: Sequence[str], labels: Sequence[str], body: Sequence[Sequence[str]],
           totals: Sequence[Sequence[str]], width: float = TABLE_WIDTH_PT, measure: Measure | None = None) -> Layout:
    """Widths for columns of cell classes `css` and header `labels`, holding the rows `body` and the
    bold `totals` (display text, one list of cells per row), at the largest size where they fit."""
    measure = measure or Measure()
    columns = list(zip(css, labels))
    body_by_column = [[row[i] for row in body] for i in range(len(columns))]
    totals_by_column = [[row[i] for row in totals] for i in range(len(columns))]
    attempts = [(size, True) for size in SIZES] + [(SIZES[-1], False)]
    for size, with_labels in attempts:
        needs = [_need(c, label, body_by_column[i], totals_by_column[i], size, measure, with_labels)
                 for i, (c, label) in enumerate(columns)]
        widths = _allocate(needs, width)
        if widths is not None:
            return Layout(_shares(widths, width), size.css)
    least = [n.least for n in needs]  # past the last step: in proportion to the least each needs
    total = sum(least) or 1.0
    return Layout(_shares([w / total * width for w in least], width), SIZES[-1].css)


def _shares(widths: list[float], width: float) -> list[str]:
    """Percentages rounded down, so they never add up to more than the table (it would widen)."""
    return [f"{math.floor(w / width * 100_000) / 1000:.3f}%" for w in widths]
