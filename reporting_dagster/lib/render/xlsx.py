"""XLSX (openpyxl): a Summary sheet and one sheet per table, as a finance user would build them.

- Header row: labels, bold, brand-coloured, frozen; autofilter over header and data.
- Money/decimals: numbers half-up to the cent, format `#,##0.00` (or the column's decimals).
  Percent columns and summary percentages are real percent cells: 16.11 % is the number 0.1611
  with the format `0.00%`, so a formula over them computes with fractions as Excel expects.
- Dates: real dates formatted `yyyy-mm-dd`; "Generated at (UTC)" a datetime cell (Excel has no
  time zones: the timestamp is converted to UTC, made naive, and the label says UTC); integers: int.
- Coded columns (status, line type, direction, bucket) in words from lib/documents/labels.py;
  database ids stay (they identify rows for whoever filters or joins the sheet).
- Text: always a string cell (`data_type 's'`), never a formula or an error value, whatever it
  starts with; formula-like text also gets the quote-prefix style. Text over Excel's 32,767-character cell
  limit is cut and ends with a note saying so (the CSV and JSON keep it whole).
- Totals rows bold under the data; highlighted rows (discrepancies) lightly filled.
- Summary sheet: the organization, period, generation time and parameters in words, then each
  summary figure on a labelled line and each per-currency (per-unit) block as a small table with
  readable headers; nested blocks (invoices by status, aging buckets) get a table of their own
  instead of flattened "Buckets · 1 30 · Label" columns. Metered quantities are numbers.
- Print setup on every sheet: A4, landscape when wide, fit to one page wide, the header row
  repeated on each printed page (print titles), page numbers in the footer.
- Sheet names are the table titles ("Outstanding invoices"): at most 31 characters, unique, none
  of []:*?/ or a backslash.
- Reproducible: workbook properties created/modified = doc.generated_at and every zip entry
  gets the same timestamp, so the same document gives the same bytes.
- A "no data" report says so on the Summary sheet, under the title; its table sheets keep their
  header rows, so the workbook has the same shape as a month with data.
- openpyxl's write-only mode: rows go to the sheet's XML as they are made, so memory stays flat
  however long the table. Column widths are written before the rows, so a table is read twice
  (widths, then cells); every style is built once per sheet and shared by its cells.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import zipfile
from decimal import Decimal
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from reporting_dagster.lib.documents import labels
from reporting_dagster.lib.documents.catalog import Column
from reporting_dagster.lib.render.document import NO_DATA_NOTE, ReportDocument, TableData
from reporting_dagster.lib.render.values import (
    MONEY_TYPES,
    column_scaler,
    column_values,
    decimal_places,
    display_cell,
    display_integer,
    display_money,
    is_percent_column,
    normalize,
    one_line,
    safe_color,
    scaled,
    text,
    utc,
)

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"  # a real percent cell: 0.1611 shows as 16.11%
QUANTITY_FORMAT = "#,##0.00###"  # metered quantities keep up to 5 decimals (catalogue QUANTITY_FORMAT)
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MAX_CELL_TEXT = 32767
XLSX_TRUNCATION_NOTE = "… (truncated: an XLSX cell holds at most 32,767 characters; the full text is in the CSV/JSON)"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BAD_TITLE = re.compile(r"[\\*?:/\[\]\x00-\x1f]")

BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True, size=11)
NOTE_FONT = Font(bold=True, size=12, color="9A3412")
TOP_BORDER = Border(top=Side(style="thin", color="404040"))


# ---------------------------------------------------------------------------------------------
# cells


def put(cell: Cell, value: Any, column: Column | None = None) -> None:
    """Write one value with its type: text as text, money exact to the cent, dates as dates."""
    value = normalize(value)
    if value is None:
        cell.value = None
        return
    kind = column.type if column is not None else None
    if column is not None and kind in MONEY_TYPES and is_percent_column(column):
        put_percent(cell, value)
    elif kind in MONEY_TYPES or (kind is None and isinstance(value, (Decimal, float))):
        cell.value = _excel_decimal(scaled(value, column))
        cell.number_format = _number_format(column)
    elif isinstance(value, bool):
        cell.value = value
    elif kind == "integer" and isinstance(value, (int, Decimal)):
        cell.value = int(value) if value == int(value) else _excel_decimal(value)
    elif isinstance(value, dt.datetime) and kind in (None, "date"):
        cell.value = utc(value).replace(tzinfo=None) if value.tzinfo else value
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date) and kind in (None, "date"):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, int) and kind is None:
        cell.value = value
    else:
        put_text(cell, text(value))


def percent_value(value: Any) -> Decimal | None:
    """A percent figure (16.11, i.e. 16.11 %) as the fraction Excel's "%" format shows: half-up
    to 2 decimals of a percent first, so the cell shows what the PDF shows (0.1611 → 16.11%)."""
    d = scaled(value)
    return None if d is None else _excel_decimal(d / 100)


def put_percent(cell: Cell, value: Any) -> None:
    cell.value = percent_value(value)
    cell.number_format = PERCENT_FORMAT


def _number_format(column: Column | None) -> str:
    """`#,##0.00`, or the column's decimals (catalogue format '0.00##' → `#,##0.00##`)."""
    fewest, most = decimal_places(column)
    return MONEY_FORMAT if (fewest, most) == (2, 2) else "#,##0." + "0" * fewest + "#" * (most - fewest)


def _clean_text(value: str) -> str:
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(value) > MAX_CELL_TEXT:  # Excel's limit: longer text is cut, and says so
        value = value[: MAX_CELL_TEXT - len(XLSX_TRUNCATION_NOTE)] + XLSX_TRUNCATION_NOTE
    return value


def put_text(cell: Cell, value: str) -> None:
    value = _clean_text(value)
    cell.value = value
    cell.data_type = "s"  # openpyxl would make "=..." a formula and "#N/A" an error value
    if value.startswith(_FORMULA_START):
        cell.quotePrefix = True


def _excel_decimal(value: Decimal) -> Decimal:
    """Plain positional notation (openpyxl writes str(value); keep it out of exponent form)."""
    return Decimal(format(value, "f"))


def sheet_title(title: str, taken: set[str]) -> str:
    base = _BAD_TITLE.sub(" ", title).strip().strip("'").strip() or "Sheet"
    base = base[:31]
    candidate, n = base, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(candidate.casefold())
    return candidate


# ---------------------------------------------------------------------------------------------
# summary sheet: the document's summary as a person would lay it out — one labelled line per
# figure, one small table per per-currency (or per-unit) block, words from labels.py


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple, set, frozenset))


def _field_label(parent: str | None, key: Any) -> str:
    """A key inside the summary dict `parent`: a code of its vocabulary (statuses, line types,
    buckets) or a field name (expected, open_amount)."""
    return labels.summary_label(key, within=parent)


def _outer_text(parent: str, key: Any) -> str:
    """A key that names a row of a block (a currency, a unit, a bucket): as it is, or its words."""
    if parent in labels.SUMMARY_KEY_VOCABULARIES:
        return labels.label(labels.SUMMARY_KEY_VOCABULARIES[parent], key)
    return text(key)


_NUMBER_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _SummaryWriter:
    """The Summary sheet's cells, kept until its widths are known (it is small): `flush` writes them."""

    def __init__(self, ws: WriteOnlyWorksheet, header_fill: PatternFill) -> None:
        self.ws = ws
        self.row = 1
        self.header_fill = header_fill
        self.widths: dict[int, int] = {}
        self.cells: dict[int, dict[int, Cell]] = {}
        self.header_rows: list[int] = []

    def cell(self, row: int, col: int) -> Cell:
        return self.cells.setdefault(row, {}).setdefault(col, WriteOnlyCell(self.ws))

    @property
    def column_count(self) -> int:
        return max((max(cells) for cells in self.cells.values() if cells), default=1)

    def flush(self) -> None:
        for col, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(col)].width = max(10, min(width + 2, 62))
        for row in range(1, max(self.cells, default=0) + 1):
            cells = self.cells.get(row, {})
            self.ws.append([cells.get(col) for col in range(1, max(cells, default=0) + 1)])

    def _track(self, col: int, value: Any) -> None:
        if isinstance(value, Decimal):
            n = len(display_money(value)) + 1
        elif isinstance(value, dt.datetime):
            n = 19
        else:
            n = len(text(value))
        self.widths[col] = max(self.widths.get(col, 0), min(n, 60))

    def put(self, row: int, col: int, value: Any, key: Any = None, quantity: bool = False) -> None:
        """One figure with its type: a percent key's value as a real percent (16.11 → 0.1611,
        "0.00%"), a quantity's exact decimal text as a number, a coded value as words."""
        cell = self.cell(row, col)
        value = normalize(value)
        if quantity and isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
            value = Decimal(value)
            cell.value = _excel_decimal(value)
            cell.number_format = QUANTITY_FORMAT
        elif key is not None and labels.is_percent_key(key) and isinstance(value, (Decimal, int, float)) \
                and not isinstance(value, bool):
            put_percent(cell, value)
        elif isinstance(value, str) and str(key) in labels.SUMMARY_VALUE_VOCABULARIES:
            value = labels.label(labels.SUMMARY_VALUE_VOCABULARIES[str(key)], value)
            put_text(cell, value)
        else:
            put(cell, value)
        self._track(col, value)

    def line(self, label: str, value: Any = None, *, key: Any = None, bold: bool = False,
             font: Font | None = None, quantity: bool = False) -> None:
        cell = self.cell(self.row, 1)
        put_text(cell, label)
        if font is not None or bold:
            cell.font = font or BOLD
        self._track(1, label)
        if value is not None:
            self.put(self.row, 2, value, key, quantity)
        self.row += 1

    def table(self, headers: list[str], rows: list[list[tuple[Any, Any]]], quantity: bool = False) -> None:
        """A header row (bold, brand-filled) and rows of (value, key) pairs; the key says how a
        value is typed (percent, quantity, words)."""
        for col, label in enumerate(headers, start=1):
            cell = self.cell(self.row, col)
            put_text(cell, label)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = self.header_fill
            self._track(col, label)
        self.header_rows.append(self.row)
        self.row += 1
        for values in rows:
            for col, (value, key) in enumerate(values, start=1):
                self.put(self.row, col, value, key, quantity)
            self.row += 1

    def blank(self) -> None:
        self.row += 1

    def section(self, title: str) -> None:
        self.blank()
        self.line(title, font=SECTION_FONT)

    def value(self, key: Any, value: Any) -> None:
        name = str(key)
        title = labels.summary_label(name)
        quantity = name in labels.QUANTITY_KEYS
        if _is_scalar(value):
            self.line(title, value, key=name)
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            self.keyed(name, title, value)
        elif isinstance(value, dict):
            self.section(title)
            for k, v in value.items():
                if _is_scalar(v):
                    self.line(_field_label(name, k), v, key=k, quantity=quantity)
                else:
                    self.value(k, v)
        else:
            items = list(value)
            if all(_is_scalar(x) for x in items):
                self.line(title, ", ".join(text(x) for x in items) if items else "—")
            elif all(isinstance(x, dict) for x in items):
                fields = list(dict.fromkeys(k for x in items for k in x))
                self.section(title)
                self.table([_field_label(None, k) for k in fields],
                           [[(x.get(k) if _is_scalar(x.get(k)) else text(x.get(k)), k) for k in fields]
                            for x in items])
            else:
                self.line(title, text(items))

    def keyed(self, name: str, title: str, blocks: dict[Any, dict]) -> None:
        """{row key: {field: figure | {…}}} (e.g. per currency): one table of the figures, then
        one table per nested block (invoices by status, aging buckets), each row named by its key."""
        header = labels.SUMMARY_KEY_HEADERS.get(name, "")
        quantity = name in labels.QUANTITY_KEYS
        fields = list(dict.fromkeys(k for block in blocks.values() for k, v in block.items() if _is_scalar(v)))
        nested = list(dict.fromkeys(k for block in blocks.values() for k, v in block.items() if isinstance(v, dict)))
        self.section(title)
        if fields:
            self.table([header, *(_field_label(name, f) for f in fields)],
                       [[(_outer_text(name, outer), None), *((block.get(f), f) for f in fields)]
                        for outer, block in blocks.items()], quantity)
        for inner in nested:
            parts = {outer: block.get(inner) for outer, block in blocks.items() if isinstance(block.get(inner), dict)}
            inner_title = f"{labels.summary_label(inner)} per {header.lower()}" if header else labels.summary_label(inner)
            if all(all(_is_scalar(v) for v in part.values()) for part in parts.values()):
                keys = list(dict.fromkeys(k for part in parts.values() for k in part))
                self.blank()
                self.line(inner_title, bold=True)
                self.table([header, *(_field_label(inner, k) for k in keys)],
                           [[(_outer_text(name, outer), None), *((part.get(k), k) for k in keys)]
                            for outer, part in parts.items()])
            elif all(isinstance(v, dict) for part in parts.values() for v in part.values()):
                leaf = list(dict.fromkeys(k for part in parts.values() for v in part.values() for k in v
                                          if k != "label" and _is_scalar(v[k])))
                self.blank()
                self.line(inner_title, bold=True)
                self.table([header, labels.SUMMARY_KEY_HEADERS.get(inner, ""), *(_field_label(None, k) for k in leaf)],
                           [[(_outer_text(name, outer), None),
                             (v.get("label") or _outer_text(inner, k), None), *((v.get(f), f) for f in leaf)]
                            for outer, part in parts.items() for k, v in part.items()])
            else:
                self.blank()
                self.line(inner_title, bold=True)
                for outer, part in parts.items():
                    self.line(_outer_text(name, outer), text(part))


def _write_summary(ws: WriteOnlyWorksheet, doc: ReportDocument, header_fill: PatternFill) -> None:
    w = _SummaryWriter(ws, header_fill)
    w.line(doc.definition.name, font=TITLE_FONT)
    if doc.no_data:
        w.line(NO_DATA_NOTE, font=NOTE_FONT)
        w.line(f"Nothing was recorded for {doc.organization_name} in {doc.period_label}.")
    w.blank()
    w.line("Organization", doc.organization_name, bold=True)
    w.line("Billing period", doc.period_label, bold=True)
    w.line("Period start", doc.period_start, bold=True)
    w.line("Period end", doc.period_end, bold=True)
    # a datetime cell: Excel has no time zones, so the time is UTC and the label says so
    w.line("Generated at (UTC)", utc(doc.generated_at).replace(tzinfo=None, microsecond=0), bold=True)
    parameters = labels.parameter_items(doc.definition, doc.parameters, doc.tables)
    if parameters:
        w.section("Parameters")
        for title, value in parameters:  # an ISO date (as of, from, to) as a date cell
            w.line(title, dt.date.fromisoformat(value) if _ISO_DATE.fullmatch(value) else value, bold=True)
    if doc.summary:
        w.section("Summary")
        for k, v in doc.summary.items():
            w.value(k, v)
    _print_setup(ws, columns=w.column_count, width=sum(w.widths.values()), title_rows=None,
                 heading=f"{doc.organization_name} · {doc.definition.name} · {doc.period_label}")
    w.flush()


# ---------------------------------------------------------------------------------------------
# table sheets


WIDE_COLUMNS = 7  # more columns than this print on a landscape page
WIDE_CHARACTERS = 110  # or columns this wide together (in characters): a portrait page would shrink them too far
HEADER_CHARACTERS = 120  # Excel allows 255 in a page header, codes and doubled "&" included


def _print_setup(ws: WriteOnlyWorksheet, *, columns: int, width: int, title_rows: str | None,
                 heading: str = "") -> None:
    """Print like the PDF: A4, landscape when wide, every column on one page width (as many pages
    down as it takes), the header row repeated on every page, the report in the page header and
    page numbers in the footer. Before the sheet's first row: the fit-to-page flag is written with
    the sheet's properties, ahead of the rows (write-only mode); the rest is written after them."""
    ws.page_setup.orientation = "landscape" if columns > WIDE_COLUMNS or width > WIDE_CHARACTERS else "portrait"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    if heading:  # "&" starts a header code in Excel: a name's own "&" is doubled
        ws.oddHeader.left.text = _clean_text(one_line(heading))[:HEADER_CHARACTERS].replace("&", "&&")
    ws.oddFooter.right.text = "Page &P of &N"


def _write_table(ws: WriteOnlyWorksheet, data: TableData, header_fill: PatternFill, highlight_fill: PatternFill,
                 heading: str = "") -> None:
    columns = data.table.columns
    frame = data.rows
    missing = [c.key for c in columns if c.key not in frame.columns]
    if missing:
        raise ValueError(f"table {data.key!r} rows lack catalogue columns: {', '.join(missing)}")
    values = [_words(frame, c) if labels.is_coded(c.key) else column_values(frame, c.key) for c in columns]
    marks = (column_values(frame, data.highlight) if data.highlight and data.highlight in frame.columns
             else [None] * len(frame))
    totals = [{c.key: labels.cell_label(c.key, normalize(total[c.key])) for c in columns if c.key in total}
              for total in data.totals]

    # widths first: openpyxl writes <cols> before the first row
    widths = [min(max(len(c.label), 6), 40) for c in columns]
    for i, column in enumerate(columns):
        length = _display_length(column)
        column_totals = [total[column.key] for total in totals if total.get(column.key) is not None]
        for value in (*values[i], *column_totals):
            if value is not None:
                widths[i] = max(widths[i], min(length(value), 60))
    ws.freeze_panes = "A2"
    _print_setup(ws, columns=len(columns), width=sum(widths), title_rows="1:1", heading=heading)
    last_data_row = len(frame) + 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(last_data_row, 1)}"
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width + 3  # + room for the filter button

    header_font = Font(bold=True, color="FFFFFF")
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws)
        put_text(cell, column.label)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="right" if column.type in MONEY_TYPES | {"integer"} else "left",
                                   vertical="center")
        header.append(cell)
    ws.append(header)

    makers = [_CellMaker(ws, column, highlight_fill) for column in columns]
    for row, mark in enumerate(marks):
        marked = mark is True
        ws.append([make(values[i][row], marked) for i, make in enumerate(makers)])

    for n, total in enumerate(totals):
        cells = []
        for column in columns:
            cell = WriteOnlyCell(ws)
            if column.key in total:
                put(cell, total[column.key], column)
            cell.font = BOLD
            cell.border = TOP_BORDER if n == 0 else Border()
            cells.append(cell)
        ws.append(cells)


def _words(frame, column: Column) -> list[Any]:
    """A coded column as people read it (labels.py): `missing_expected` → "Not expected"; a line
    type by the platform's own name when the row has it (line_type_name)."""
    names = (column_values(frame, "line_type_name") if column.key == "line_type" and "line_type_name" in frame.columns
             else None)
    return labels.column_words(column.key, column_values(frame, column.key), names)


def _display_length(column: Column):
    """`len(display_cell(value, column))` (the width rule), money scaled without the per-cell format lookup."""
    if column.type in MONEY_TYPES:
        percent = is_percent_column(column)
        scale = column_scaler(None if percent else column)

        def money_length(value: Any) -> int:
            d = scale(value)
            return len(format(abs(d) if d == 0 else d, ",f")) + percent

        return money_length
    if column.type == "integer":
        return lambda value: len(display_integer(value))
    if column.type == "date":
        return lambda value: len(display_cell(value, column))
    # text: a str is shown as it is
    return lambda value: len(value) if type(value) is str else len(display_cell(value, column))


class _CellMaker:
    """Cells of one table column as `put` makes them, with their styles built once (shared by the
    cells: write-only cells are written and dropped, never restyled)."""

    def __init__(self, ws: WriteOnlyWorksheet, column: Column, highlight_fill: PatternFill) -> None:
        self.ws = ws
        self.column = column
        self.money = column.type in MONEY_TYPES
        self.percent = self.money and is_percent_column(column)
        self.scale = column_scaler(None if self.percent else column)  # a percent: 2 decimals of a percent
        money_format = PERCENT_FORMAT if self.percent else _number_format(column)
        self.styles = {
            (fmt, quote, marked): self._style(fmt, quote, marked, highlight_fill)
            for fmt in ("General", money_format, DATE_FORMAT, DATETIME_FORMAT)
            for quote in (False, True) for marked in (False, True)
        }
        self.money_format = money_format

    def _style(self, fmt: str, quote: bool, marked: bool, fill: PatternFill):
        cell = WriteOnlyCell(self.ws)
        cell.number_format = fmt
        if quote:
            cell.quotePrefix = True
        if marked:
            cell.fill = fill
        return cell._style  # noqa: SLF001 - openpyxl's own copy_worksheet shares styles this way

    def __call__(self, value: Any, marked: bool) -> Cell | None:
        if value is None:
            if not marked:
                return None
            cell = Cell(self.ws)
            cell._style = self.styles[("General", False, True)]  # noqa: SLF001
            return cell
        cell = Cell(self.ws)
        if self.money:  # the common cases first: money, then text
            scaled_value = self.scale(value)
            # a percent column's 16.11 is the fraction 0.1611 in a "0.00%" cell
            cell._value = _excel_decimal(scaled_value / 100 if self.percent else scaled_value)  # noqa: SLF001 - the type is known: no _bind_value
            cell.data_type = "n"
            cell._style = self.styles[(self.money_format, False, marked)]  # noqa: SLF001
            return cell
        kind = self.column.type
        fmt, quote = "General", False
        if type(value) is str and kind not in ("integer", "date"):
            value, data_type = _clean_text(value), "s"
            quote = value.startswith(_FORMULA_START)
        elif isinstance(value, bool):
            data_type = "b"
        elif kind == "integer" and isinstance(value, (int, Decimal)):
            value, data_type = (int(value) if value == int(value) else _excel_decimal(value)), "n"
        elif isinstance(value, dt.datetime) and kind == "date":
            value, data_type, fmt = (utc(value).replace(tzinfo=None) if value.tzinfo else value), "d", DATETIME_FORMAT
        elif isinstance(value, dt.date) and kind == "date":
            data_type, fmt = "d", DATE_FORMAT
        else:
            value, data_type = _clean_text(text(value)), "s"
            quote = value.startswith(_FORMULA_START)
        cell._value = value  # noqa: SLF001
        cell.data_type = data_type
        cell._style = self.styles[(fmt, quote, marked)]  # noqa: SLF001
        return cell


# ---------------------------------------------------------------------------------------------
# workbook


def _sheet(wb: Workbook, title: str) -> WriteOnlyWorksheet:
    """A write-only sheet that is given rows of finished cells (or None) only: each cell gets its
    coordinates and goes to the writer, without openpyxl first trying it as a plain value (a
    raised and caught ValueError per cell, a third of the time of a large sheet)."""
    ws = wb.create_sheet(title)

    def cells_to_row(cells: list[Cell | None], row: int) -> Iterator[Cell]:
        for col, cell in enumerate(cells, 1):
            if cell is not None:
                cell.column = col
                cell.row = row
                yield cell

    ws._values_to_row = cells_to_row  # noqa: SLF001 - the hook append() feeds rows through
    return ws


class _ReproducibleZip(zipfile.ZipFile):
    """A zip whose entries all get one fixed timestamp and the same attributes (zip dates are local
    time), written once: openpyxl's ExcelWriter calls `writestr` for its parts and `write` for a
    write-only sheet's temporary file, which is copied in without being read whole."""

    def __init__(self, file: io.BytesIO, when: dt.datetime) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)

    def _entry(self, name: str) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, date_time=self._stamp)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o644 << 16
        entry.create_system = 0
        return entry

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None) -> None:  # noqa: ANN001
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        super().writestr(self._entry(name), data)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None) -> None:  # noqa: ANN001
        with open(filename, "rb") as src, self.open(self._entry(arcname or filename), "w", force_zip64=True) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def render(doc: ReportDocument) -> bytes:
    brand = safe_color(doc.branding.brand_color)
    header_fill = PatternFill("solid", fgColor=brand[1:])
    highlight_fill = PatternFill("solid", fgColor="FFF4D6")
    generated = utc(doc.generated_at).replace(tzinfo=None, microsecond=0)

    wb = Workbook(write_only=True)
    wb.properties.created = generated
    wb.properties.modified = generated
    wb.properties.creator = "reporting_dagster"
    wb.properties.lastModifiedBy = "reporting_dagster"
    wb.properties.title = ILLEGAL_CHARACTERS_RE.sub("", f"{doc.definition.name} — {doc.period_label}")[:255]

    heading = f"{doc.organization_name} · {doc.definition.name} · {doc.period_label}"
    taken: set[str] = set()
    summary = _sheet(wb, sheet_title("Summary", taken))
    _write_summary(summary, doc, header_fill)
    for data in doc.tables:
        ws = _sheet(wb, sheet_title(data.table.title, taken))
        _write_table(ws, data, header_fill, highlight_fill, heading=f"{heading} · {data.table.title}")

    buf = io.BytesIO()
    # ExcelWriter directly: openpyxl's save() would stamp `modified` with the current time
    ExcelWriter(wb, _ReproducibleZip(buf, generated)).save()
    return buf.getvalue()
