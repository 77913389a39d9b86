"""CSV for Excel and for machines: RFC 4180, UTF-8 with a byte order mark, CRLF; five `# `
metadata lines, a label header, the data.

```
\ufeff# Invoice Aging Report
# Organization: Karoo Solar
# Period: November 2026 (2026-11-01 to 2026-11-30)
# Generated: 2026-12-01T06:00:00+00:00
# Parameters: as_of_date=2026-11-30
Invoice #,Customer,…
```

The byte order mark makes Excel read the file as UTF-8 (without it non-ASCII names come out
garbled); template_config "csv_bom": false (per report template) or REPORTS_CSV_BOM=false (per
deployment) leaves it out for consumers that cannot skip it. Python reads either with
`encoding="utf-8-sig"`. The Organization and Period lines name them for a person; the Parameters
line keeps the request's codes (`k=v`) for machines, and so do the cells (status `paid`,
`missing_expected`): the comparison's CSV adds a "… (in words)" column after its line type and
verdict columns, whose codes are not words (labels.CSV_WORDS_COLUMNS).

The file holds the report's most detailed table (`definition.csv_table`). Money and decimals are
plain numbers with exactly 2 decimals (half-up), integers plain, dates ISO, None empty. Every
text cell, the header labels and the metadata lines go through `values.csv_guard`: a `'` before
any = + - @ that could begin a field wherever a spreadsheet splits (the cell's start, after `;`,
`,`, tab, CR, LF), tabs as spaces. A number in a numeric column is never altered (`-160.00`).
Fields with a comma, quote or line break are quoted, quotes doubled (the csv module's excel dialect).
A "no data" report ends with one `# No data for this period` line after the header row: after
it, so a reader that skips the metadata lines still finds the header first.
"""

from __future__ import annotations

import csv as _csv
import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

from reporting_dagster.lib.documents import labels
from reporting_dagster.lib.documents.catalog import Column
from reporting_dagster.lib.infra import settings
from reporting_dagster.lib.render.document import NO_DATA_NOTE, ReportDocument
from reporting_dagster.lib.render.values import (
    MONEY_TYPES,
    CSV_GUARD_CHARS,
    column_money,
    csv_guard,
    csv_guard_text,
    iso_date,
    iso_timestamp,
    normalize,
    one_line,
    parameter_pairs,
    plain_cell,
    text,
)

CONTENT_TYPE = "text/csv; charset=utf-8"
NUMERIC_TYPES = MONEY_TYPES | {"integer"}
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
CHUNK_ROWS = 10_000  # rows formatted and written at a time: memory stays flat however long the table


BOM = "\ufeff"
METADATA_LINES = 5  # name, organization, period, generated, parameters


def period_words(doc: ReportDocument) -> str:
    """"November 2026 (2026-11-01 to 2026-11-30)": the period's name and its first and last day."""
    return f"{one_line(doc.period_label)} ({iso_date(doc.period_start)} to {iso_date(doc.period_end)})"


def metadata_lines(doc: ReportDocument) -> list[str]:
    params = ", ".join(f"{one_line(k)}={one_line(v)}" for k, v in parameter_pairs(doc.parameters))
    # written as they are (no quoting), so guarded like a cell: names and parameter values are user text
    return [csv_guard(line) for line in (
        f"# {one_line(doc.definition.name)}",
        f"# Organization: {one_line(doc.organization_name)}",
        f"# Period: {period_words(doc)}",
        f"# Generated: {iso_timestamp(doc.generated_at)}",
        f"# Parameters: {params}",
    )]


def with_bom(doc: ReportDocument) -> bool:
    """The template's csv_bom when it set one, else the deployment's REPORTS_CSV_BOM (default on)."""
    if doc.sections.csv_bom is not None:
        return doc.sections.csv_bom
    return settings.csv_bom()


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


def _words_cells(chunk, column: Column) -> list[str]:
    """The words for a coded column's codes (labels.py), guarded like any text (a line type's
    platform name is user text)."""
    names = chunk["line_type_name"].tolist() if column.key == "line_type" and "line_type_name" in chunk.columns else None
    words = labels.column_words(column.key, [normalize(v) for v in chunk[column.key].tolist()], names)
    return ["" if w is None else csv_guard(text(w)) for w in words]


def render(doc: ReportDocument) -> bytes:
    data = doc.table(doc.definition.csv_table or doc.tables[0].key)
    columns = data.table.columns
    frame = data.rows
    missing = [c.key for c in columns if c.key not in frame.columns]
    if missing:
        raise ValueError(f"table {data.key!r} rows lack catalogue columns: {', '.join(missing)}")
    in_words = set(labels.CSV_WORDS_COLUMNS.get((doc.report_type, data.key), ()))
    buf = io.StringIO(newline="")
    if with_bom(doc):
        buf.write(BOM)
    for line in metadata_lines(doc):
        buf.write(line + "\r\n")
    writer = _csv.writer(buf, dialect="excel", lineterminator="\r\n", quoting=_csv.QUOTE_MINIMAL)
    header = []
    for c in columns:
        header.append(csv_guard(c.label))
        if c.key in in_words:
            header.append(csv_guard(c.label + labels.CSV_WORDS_SUFFIX))
    writer.writerow(header)
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start:start + CHUNK_ROWS]
        cells = []
        for c in columns:
            cells.append(_column_cells(chunk[c.key].tolist(), c))
            if c.key in in_words:
                cells.append(_words_cells(chunk, c))
        writer.writerows(zip(*cells))
    if doc.no_data:
        buf.write(f"# {NO_DATA_NOTE}\r\n")
    return buf.getvalue().encode("utf-8")
