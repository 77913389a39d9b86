"""JSON: the report as one object, rows nested where the report is nested.

```
{report_type, organization: {id, name}, billing_period: {key, name, start, end}, generated_at,
 no_data, note (only when no_data: the organization has no rows in the period), parameters,
 columns: {table key: [column defs]}, labels: {column key: {code: words}}, summary,
 rows: [top-level table rows, each with a list field per child table],
 totals: {table key: [rows]}}
```

Rows and parameters keep the codes (`"status": "missing_expected"`) for machines; `labels` gives
the words of every code the document's coded columns hold (lib/documents/labels.py), so an app
that shows the rows to people shows the same words as the PDF without a catalogue of its own.

Money and decimals are strings with 2 decimals half-up ("-160.00"), dates ISO 8601, None null,
integers numbers. Key order is fixed (catalogue order for row fields), so the same document
gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from reporting_dagster.lib.documents import labels
from reporting_dagster.lib.documents.catalog import Column
from reporting_dagster.lib.render.document import NO_DATA_NOTE, ReportDocument, TableData
from reporting_dagster.lib.render.values import (
    MONEY_TYPES,
    group_value,
    iso_date,
    iso_timestamp,
    money,
    normalize,
    table_records,
)

CONTENT_TYPE = "application/json"


def _value(value: Any) -> Any:
    """A JSON value for anything outside the catalogue's typed columns (summary, extra keys)."""
    value = normalize(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, float):
        return money(value)
    if isinstance(value, dt.datetime):
        return iso_timestamp(value) if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_value(v) for v in items]
    return str(value)


def _cell(value: Any, column: Column | None) -> Any:
    value = normalize(value)
    if value is None:
        return None
    if column is None:
        return _value(value)
    if column.type in MONEY_TYPES:
        return money(value, column)
    if column.type == "integer":
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        return _value(value)
    if column.type == "date":
        return iso_date(value)
    if column.type == "string" and not isinstance(value, str):
        return _value(value) if isinstance(value, (bool, int)) else str(_value(value))
    return _value(value)


def _rows(data: TableData, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key = {c.key: c for c in data.table.columns}
    return [{k: _cell(v, by_key.get(k)) for k, v in record.items()} for record in records]


def _totals(data: TableData) -> list[dict[str, Any]]:
    out = []
    for total in data.totals:
        row = {c.key: _cell(total[c.key], c) for c in data.table.columns if c.key in total}
        row.update({str(k): _value(v) for k, v in total.items() if k not in row})
        out.append(row)
    return out


def _nest(doc: ReportDocument, data: TableData, rows: list[dict[str, Any]], raw: list[dict[str, Any]]) -> None:
    """Attach each child table's rows to `rows` (recursively), matched by row_key = group_key."""
    for child in doc.tables:
        if child.parent != data.key:
            continue
        if not data.row_key or not child.group_key:
            raise ValueError(f"child table {child.key!r} needs its group_key and its parent's row_key")
        child_raw = table_records(child, [child.group_key, child.row_key or ""])
        child_rows = _rows(child, child_raw)
        groups: dict[Any, tuple[list, list]] = {}
        for r, j in zip(child_raw, child_rows):
            bucket = groups.setdefault(group_value(r[child.group_key]), ([], []))
            bucket[0].append(r)
            bucket[1].append(j)
        for parent_raw, parent_row in zip(raw, rows):
            raw_group, json_group = groups.get(group_value(parent_raw.get(data.row_key)), ([], []))
            parent_row[child.key] = json_group
            _nest(doc, child, json_group, raw_group)


def code_labels(doc: ReportDocument) -> dict[str, dict[str, str]]:
    """{column key: {code: words}} for the codes in the document's coded columns (sorted, so the
    same document gives the same bytes)."""
    out: dict[str, dict[str, str]] = {}
    for data in doc.tables:
        for column in data.table.columns:
            if not labels.is_coded(column.key) or column.key not in data.rows.columns:
                continue
            codes = {v for v in data.rows[column.key].tolist() if isinstance(v, str) and v}
            out.setdefault(column.key, {}).update({code: labels.cell_label(column.key, code) for code in codes})
    return {key: dict(sorted(words.items())) for key, words in sorted(out.items()) if words}


def document_dict(doc: ReportDocument) -> dict[str, Any]:
    top_level = [t for t in doc.tables if not t.parent]
    out: dict[str, Any] = {
        "report_type": doc.report_type,
        "report_name": doc.definition.name,
        "organization": {"id": doc.organization_id, "name": doc.organization_name},
        "billing_period": {
            "key": doc.period_key,
            "name": doc.period_label,
            "start": iso_date(doc.period_start),
            "end": iso_date(doc.period_end),
        },
        "generated_at": iso_timestamp(doc.generated_at),
        "no_data": doc.no_data,
        **({"note": NO_DATA_NOTE} if doc.no_data else {}),
        "parameters": {str(k): _value(v) for k, v in doc.parameters.items()},
        "columns": {t.key: [c.as_json() for c in t.table.columns] for t in doc.tables},
        "labels": code_labels(doc),
        "summary": _value(doc.summary),
    }
    for index, data in enumerate(top_level):
        extra = [data.row_key or ""]
        raw = table_records(data, extra)
        rows = _rows(data, raw)
        _nest(doc, data, rows, raw)
        if index == 0:
            out["rows"] = rows
        else:  # further independent tables (rare) sit beside the main rows
            out.setdefault("tables", {})[data.key] = rows
    if not top_level:
        out["rows"] = []
    out["totals"] = {t.key: _totals(t) for t in doc.tables}
    return out


def render(doc: ReportDocument) -> bytes:
    return (json.dumps(document_dict(doc), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
