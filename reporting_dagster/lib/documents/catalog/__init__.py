"""The report catalogue (seed 002 §19.2): one entry per report type.

It is the single source of every format's columns, labels, types and number formats, and it
is what the `report_definition` table holds. A report is found by its `report_type` (= slug).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FORMATS = ("pdf", "csv", "xlsx", "json", "html")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: str  # string | decimal | integer | date | currency
    format: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type}
        if self.format:
            out["format"] = self.format
        return out


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # date | enum | id | decimal
    label: str
    required: bool = False
    default: Any = None
    options: tuple[str, ...] = ()
    entity_type: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "label": self.label,
                               "required": self.required}
        if self.default is not None:
            out["default"] = self.default
        if self.options:
            out["options"] = list(self.options)
        if self.entity_type:
            out["entityType"] = self.entity_type
        return out


@dataclass(frozen=True)
class Table:
    """One table of a report: its key (sheet / JSON field), title and columns."""

    key: str
    title: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class ReportDefinition:
    slug: str
    name: str
    category: str  # INVOICING | FINANCIAL | TIME_ATTENDANCE | PROJECT
    description: str
    tables: tuple[Table, ...]
    parameters: tuple[Parameter, ...] = ()
    csv_table: str = ""  # the table a CSV file holds (the most detailed one)
    version: int = 1
    sort_order: int = 0
    formats: tuple[str, ...] = FORMATS

    @property
    def report_type(self) -> str:
        return self.slug

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(f"{self.slug} has no table {key!r}")

    def column_definitions(self) -> dict[str, Any]:
        return {"tables": [{"key": t.key, "title": t.title, "columns": [c.as_json() for c in t.columns]}
                           for t in self.tables],
                "columns": [c.as_json() for c in self.table(self.csv_table or self.tables[0].key).columns]}

    def parameter_schema(self) -> dict[str, Any]:
        return {"parameters": [p.as_json() for p in self.parameters]}


def col(key: str, label: str, type_: str = "string", fmt: str | None = None) -> Column:
    if fmt is None and type_ in ("decimal", "currency"):
        fmt = "0.00"
    return Column(key, label, type_, fmt)


PERIOD_PARAMETER = Parameter("billing_period", "date", "Billing period", required=True)
# Several whole billing periods (a quarterly or annual schedule): the first day of the first and
# the last day of the last. Without them a request covers one billing period.
SPAN_PARAMETERS = (
    Parameter("date_from", "date", "From (first day of a billing period)"),
    Parameter("date_to", "date", "To (last day of a billing period)"),
)


def _register() -> dict[str, "ReportDefinition"]:
    # one module per report type in this package, each defining DEFINITION
    from reporting_dagster.lib.documents.catalog import (
        invoice_aging,
        invoice_comparison,
        invoice_expected,
        invoice_received,
        invoice_to_client,
        project_profitability,
        timesheet,
    )

    modules = [invoice_to_client, invoice_expected, invoice_received, invoice_comparison, invoice_aging,
               timesheet, project_profitability]
    return {m.DEFINITION.slug: m.DEFINITION for m in sorted(modules, key=lambda m: m.DEFINITION.sort_order)}


CATALOG: dict[str, ReportDefinition] = _register()
INVOICE_COMPARISON = CATALOG["invoice_comparison"]


def get(report_type: str) -> ReportDefinition:
    try:
        return CATALOG[report_type]
    except KeyError:
        raise KeyError(f"unknown report type {report_type!r}; known: {', '.join(sorted(CATALOG))}") from None
