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


def _c(key: str, label: str, type_: str = "string", fmt: str | None = None) -> Column:
    if fmt is None and type_ in ("decimal", "currency"):
        fmt = "0.00"
    return Column(key, label, type_, fmt)


TOLERANCE_PARAMETERS = (
    Parameter("billing_period", "date", "Billing period", required=True),
    Parameter("contract_id", "id", "Contract", entity_type="contract"),
    Parameter("project_id", "id", "Project", entity_type="project"),
    Parameter("tolerance_absolute", "decimal", "Absolute tolerance", default="0.01"),
    Parameter("tolerance_percent", "decimal", "Percent tolerance", default="0"),
)

INVOICE_COMPARISON = ReportDefinition(
    slug="invoice_comparison",
    name="Invoice Comparison Report",
    category="INVOICING",
    description="Expected versus received contractor invoices for a billing period: variance per "
                "invoice and per line, with the status of each and totals per currency.",
    sort_order=40,
    csv_table="lines",
    parameters=TOLERANCE_PARAMETERS,
    tables=(
        Table("invoices", "Invoices", (
            _c("contract_name", "Contract"),
            _c("counterparty_name", "Contractor"),
            _c("received_invoice_numbers", "Vendor invoice #"),
            _c("currency", "Currency"),
            _c("expected_amount", "Expected", "currency"),
            _c("received_amount", "Received", "currency"),
            _c("variance", "Variance", "currency"),
            _c("variance_percent", "Variance %", "decimal"),
            _c("status", "Status"),
            _c("stored_status", "Stored status"),
            _c("final_amount", "Final amount", "currency"),
            _c("adjustment_amount", "Adjustment", "currency"),
        )),
        Table("lines", "Line detail", (
            _c("contract_name", "Contract"),
            _c("received_invoice_numbers", "Vendor invoice #"),
            _c("currency", "Currency"),
            _c("line_type", "Line type"),
            _c("description", "Description"),
            _c("expected_amount", "Expected", "currency"),
            _c("received_amount", "Received", "currency"),
            _c("variance", "Variance", "currency"),
            _c("variance_percent", "Variance %", "decimal"),
            _c("status", "Status"),
        )),
    ),
)

CATALOG: dict[str, ReportDefinition] = {d.slug: d for d in (INVOICE_COMPARISON,)}


def get(report_type: str) -> ReportDefinition:
    try:
        return CATALOG[report_type]
    except KeyError:
        raise KeyError(f"unknown report type {report_type!r}; known: {', '.join(sorted(CATALOG))}") from None
