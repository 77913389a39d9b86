"""CSV: RFC 4180, UTF-8 without BOM, CRLF; three `# ` metadata lines, a label header, the data.

The file holds the report's most detailed table (`definition.csv_table`). Money and decimals are
plain numbers with exactly 2 decimals (half-up), integers plain, dates ISO, None empty. Text
cells that a spreadsheet would run as a formula get a leading `'`; numbers are never altered.
A "no data" report ends with one `# No data for this period` line after the header row: after
it, so a reader that skips the three metadata lines still finds the header first.
"""

from __future__ import annotations

import csv as _csv
import io
from typing import Any

from reporting_dagster.lib.documents.catalog import Column
from reporting_dagster.lib.render.document import NO_DATA_NOTE, ReportDocument
from reporting_dagster.lib.render.values import (
    csv_guard,
    iso_timestamp,
    normalize,
    one_line,
    parameter_pairs,
    plain_cell,
    table_records,
)

CONTENT_TYPE = "text/csv; charset=utf-8"


def metadata_lines(doc: ReportDocument) -> list[str]:
    params = ", ".join(f"{one_line(k)}={one_line(v)}" for k, v in parameter_pairs(doc.parameters))
    return [
        f"# {one_line(doc.definition.name)}",
        f"# Generated: {iso_timestamp(doc.generated_at)}",
        f"# Parameters: {params}",
    ]


def _cell(value: Any, column: Column) -> str:
    value = normalize(value)
    cell = plain_cell(value, column)
    # text is guarded; numbers (money, integers) and dates are written as they are
    if column.type == "string" or isinstance(value, str):
        return csv_guard(cell)
    return cell


def render(doc: ReportDocument) -> bytes:
    data = doc.table(doc.definition.csv_table or doc.tables[0].key)
    columns = data.table.columns
    buf = io.StringIO(newline="")
    for line in metadata_lines(doc):
        buf.write(line + "\r\n")
    writer = _csv.writer(buf, dialect="excel", lineterminator="\r\n", quoting=_csv.QUOTE_MINIMAL)
    writer.writerow([csv_guard(c.label) for c in columns])
    for record in table_records(data):
        writer.writerow([_cell(record[column.key], column) for column in columns])
    if doc.no_data:
        buf.write(f"# {NO_DATA_NOTE}\r\n")
    return buf.getvalue().encode("utf-8")
