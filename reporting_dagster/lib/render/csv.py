"""CSV: RFC 4180, UTF-8 without BOM, CRLF; three `# ` metadata lines, a label header, the data.

The file holds the report's most detailed table (`definition.csv_table`). Money and decimals are
plain numbers with exactly 2 decimals (half-up), integers plain, dates ISO, None empty. Every
text cell, the header labels and the metadata lines go through `values.csv_guard`: a `'` before
any = + - @ that could begin a field wherever a spreadsheet splits (the cell's start, after `;`,
`,`, tab, CR, LF), tabs as spaces. A number in a numeric column is never altered (`-160.00`).
A "no data" report ends with one `# No data for this period` line after the header row: after
it, so a reader that skips the three metadata lines still finds the header first.
"""

from __future__ import annotations

import csv as _csv
import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

from reporting_dagster.lib.documents.catalog import Column
from reporting_dagster.lib.render.document import NO_DATA_NOTE, ReportDocument
from reporting_dagster.lib.render.values import (
    MONEY_TYPES,
    CSV_GUARD_CHARS,
    column_money,
    csv_guard,
    csv_guard_text,
    iso_timestamp,
    normalize,
    one_line,
    parameter_pairs,
    plain_cell,
)

CONTENT_TYPE = "text/csv; charset=utf-8"
NUMERIC_TYPES = MONEY_TYPES | {"integer"}
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
CHUNK_ROWS = 10_000  # rows formatted and written at a time: memory stays flat however long the table


def metadata_lines(doc: ReportDocument) -> list[str]:
    params = ", ".join(f"{one_line(k)}={one_line(v)}" for k, v in parameter_pairs(doc.parameters))
    # written as they are (no quoting), so guarded like a cell: a parameter value is user text
    return [csv_guard(line) for line in (
        f"# {one_line(doc.definition.name)}",
        f"# Generated: {iso_timestamp(doc.generated_at)}",
        f"# Parameters: {params}",
    )]


def _cell(value: Any, column: Column) -> str:
    cell = plain_cell(normalize(value), column)
    # a number of a numeric column is written as it is (a negative amount stays -160.00);
    # everything else is text, guarded (also a text value that turned up in a numeric column)
    if column.type in NUMERIC_TYPES and _PLAIN_NUMBER.fullmatch(cell):
        return cell
    return csv_guard(cell)


def _column_cells(values: list[Any], column: Column) -> list[str]:
    """`_cell` of each value of one column, by the column's type: a money value is always a plain
    number (format 'f' of a quantized Decimal), an int's text is one, a date's ISO text has no
    place a formula could start; only other text goes through the guard (`csv_guard_text`).
    Anything else (NaN, numpy or pandas scalars, a bad value) takes `_cell`, which normalizes."""
    if column.type in MONEY_TYPES:
        return list(map(column_money(column), values))
    if column.type == "integer":
        return [str(v) if type(v) is int else "" if v is None else _cell(v, column) for v in values]
    if column.type == "date":
        return [v.isoformat() if type(v) is dt.date else "" if v is None else _cell(v, column) for v in values]
    needs_guard = CSV_GUARD_CHARS.search  # most text has no character the guard acts on: kept as it is
    return [(csv_guard_text(v) if needs_guard(v) else v) if type(v) is str
            else "" if v is None or (type(v) is float and v != v)  # NULL in a `str` column reads as NaN
            else _cell(v, column) for v in values]


def render(doc: ReportDocument) -> bytes:
    data = doc.table(doc.definition.csv_table or doc.tables[0].key)
    columns = data.table.columns
    frame = data.rows
    missing = [c.key for c in columns if c.key not in frame.columns]
    if missing:
        raise ValueError(f"table {data.key!r} rows lack catalogue columns: {', '.join(missing)}")
    buf = io.StringIO(newline="")
    for line in metadata_lines(doc):
        buf.write(line + "\r\n")
    writer = _csv.writer(buf, dialect="excel", lineterminator="\r\n", quoting=_csv.QUOTE_MINIMAL)
    writer.writerow([csv_guard(c.label) for c in columns])
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start:start + CHUNK_ROWS]
        writer.writerows(zip(*(_column_cells(chunk[c.key].tolist(), c) for c in columns)))
    if doc.no_data:
        buf.write(f"# {NO_DATA_NOTE}\r\n")
    return buf.getvalue().encode("utf-8")
