"""PDF only: runs of plain table rows stacked into "bands", one table row of many lines each.

WeasyPrint's cost is per box: a table cell costs ~0.7 ms whatever its style (measured: a bare
7-column table of 1,000 rows takes as long as the styled one). A band holds up to BAND_ROWS rows
as one <tr> whose cells hold one line per row (`white-space: pre-line`, line height = the row
pitch), and `report_print.css` paints the row rules as a repeating gradient (no zebra stripes in the PDF)
at the same pitch, so text sits where ordinary rows put it, at about a third of the cost. A band may break
across pages between its lines, as rows do.

Only a row whose every cell surely fits on one line joins a band (its characters counted at an
upper bound of their width, Latin script only); any other row (one that may wrap, a highlighted
row) stays an ordinary row, so a band never misaligns its columns. The HTML file has no bands.
"""

from __future__ import annotations

from typing import Protocol

BAND_ROWS = 40
# A4 landscape less the 12 mm side margins of report.css's @page, in pt; cell padding 4pt + 4pt
# and a 1pt reserve; table.data font-size 7.5pt
TABLE_WIDTH_PT = (297 - 24) / 25.4 * 72
CELL_RESERVE_PT = 9.0
FONT_SIZE_PT = 7.5
# advance widths of DejaVu Sans (report.css's first font) for U+0020..U+007E, in 1/2048 em,
# counted with a 10% reserve (kerning only narrows a line); any other Latin character (U+00A0..
# U+024F) counts as 1.45 em, above the widest of them (Ǆ, 1.42 em); other scripts never join a band
_ASCII_UNITS = (
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577,
    1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401,
    2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298,
    569, 569, 1186, 569, 1995, 1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075,
    1303, 690, 1303, 1716,
)
ASCII_EM = {chr(0x20 + i): units / 2048 * 1.1 for i, units in enumerate(_ASCII_UNITS)}
LATIN_EM = 1.45
PLAIN = frozenset({"", "alt"})
NO_BREAK_SPACE = "\u00a0"  # an empty cell keeps its line


class Row(Protocol):
    cells: list[tuple[str, str]]
    css: str
    band: bool


def fits(value: str, width_pt: float) -> bool:
    """Whether `value` surely fits on one line `width_pt` wide (False when unsure)."""
    ems = 0.0
    for ch in value:
        width = ASCII_EM.get(ch)
        if width is not None:
            ems += width
        elif 0xA0 <= ord(ch) < 0x250:
            ems += LATIN_EM
        else:
            return False
    return ems * FONT_SIZE_PT <= width_pt


def cell_widths(widths: list[str]) -> list[float]:
    """Content widths in pt of columns given as "12.50%" of the table."""
    return [float(w.rstrip("%")) / 100 * TABLE_WIDTH_PT - CELL_RESERVE_PT for w in widths]


def _band(rows: list[Row], make) -> Row:
    columns = len(rows[0].cells)
    cells = [("\n".join(row.cells[i][0] or NO_BREAK_SPACE for row in rows), rows[0].cells[i][1])
             for i in range(columns)]
    return make(cells, "band", True)


def banded(rows: list[Row], widths_pt: list[float], make, size: int = BAND_ROWS) -> list[Row]:
    """`rows` with every run of plain rows that fit stacked into bands of at most `size` rows;
    `make(cells, css, band)` makes a row."""
    out: list[Row] = []
    run: list[Row] = []

    def flush() -> None:
        for start in range(0, len(run), size):
            chunk = run[start:start + size]
            out.append(_band(chunk, make) if len(chunk) > 1 else chunk[0])
        run.clear()

    for row in rows:
        if row.css in PLAIN and all(fits(value, width) for (value, _), width in zip(row.cells, widths_pt)):
            run.append(row)
        else:
            flush()
            out.append(row)
    flush()
    return out
