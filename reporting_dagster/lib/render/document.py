"""What every renderer receives: a report for one organization and one period, format-neutral.

Report builders (comparison, aging, ...) produce a `ReportDocument`; the renderers in this
package turn it into PDF, CSV, XLSX, JSON or HTML without knowing which report it is. Values in
the table frames are typed: money and decimals as `Decimal`, dates as `datetime.date`, counts
as int, text as str, missing as None.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from reporting_dagster.lib.documents.catalog import ReportDefinition, Table

# What every format says when the organization has no rows in the period (one wording everywhere).
NO_DATA_NOTE = "No data for this period"
LOGO_CHECK = "logo_from_own_branding"  # the WARN finding of a logo left out (documents/reports/logos.py)
MAX_ROWS_CHECK = "pdf_max_rows_setting"  # the WARN finding of an unusable template_config pdf_max_rows


@dataclass(frozen=True)
class Branding:
    """From the organization's report template; every text field is untrusted."""

    brand_color: str = "#1F4E79"
    header_text: str | None = None
    footer_text: str | None = None
    logo_data_uri: str | None = None  # a data: URI only, never a URL or path
    logo_warning: str | None = None  # why the template's logo was left out, and what to fix


# PDF/HTML show at most this many rows of a table (report_template.template_config "pdf_max_rows"
# overrides it, within 1..MAX_TABLE_ROWS_LIMIT); CSV, XLSX and JSON always hold every row. 2,000
# rows are ~70 landscape pages, more than anyone reads, and render in a few seconds (README)
DEFAULT_MAX_TABLE_ROWS = 2_000
MAX_TABLE_ROWS_LIMIT = 50_000  # ~100 s of layout: well inside the render budget


CSV_BOM_KEY = "csv_bom"  # template_config: false = CSV files without the UTF-8 byte order mark
CSV_BOM_CHECK = "csv_bom_setting"  # the WARN finding of an unusable template_config csv_bom


def csv_bom_setting(config: Any) -> tuple[bool | None, str | None]:
    """template_config's "csv_bom": (true/false, None) when it is a JSON boolean, (None, None) when
    absent (the deployment's REPORTS_CSV_BOM decides, default on), else (None, why it was not
    used): a bad setting keeps the report and is a WARN finding in its summary."""
    if not isinstance(config, dict) or CSV_BOM_KEY not in config:
        return None, None
    value = config[CSV_BOM_KEY]
    if isinstance(value, bool):
        return value, None
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
    return None, (f"template_config {CSV_BOM_KEY} must be true or false, got {shown}; "
                  f"the CSV follows REPORTS_CSV_BOM (default: with a byte order mark)")


@dataclass(frozen=True)
class Sections:
    """Template switches (report_template.include_*, template_config "pdf_max_rows", "csv_bom")."""

    summary: bool = True
    line_items: bool = True
    charts: bool = True
    max_table_rows: int = DEFAULT_MAX_TABLE_ROWS
    warning: str | None = None  # why the template's pdf_max_rows was not used (a WARN finding)
    # CSV starts with a UTF-8 byte order mark (Excel then reads non-ASCII names right); None: the
    # deployment's REPORTS_CSV_BOM (lib/infra/settings.py), on unless set to false
    csv_bom: bool | None = None
    csv_bom_warning: str | None = None  # why the template's csv_bom was not used (a WARN finding)


@dataclass(frozen=True)
class SummaryCard:
    """One card in the summary strip: a title, a headline value and a few small lines."""

    title: str
    value: str
    lines: tuple[str, ...] = ()
    tone: str = "neutral"  # neutral | good | bad


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    series: str = ""  # e.g. the currency; bars of different series are never summed


@dataclass(frozen=True)
class Chart:
    """A bar chart (rendered as inline SVG in PDF/HTML)."""

    title: str
    bars: tuple[Bar, ...]
    value_label: str = ""


@dataclass
class TableData:
    """A catalogue table with its rows (one DataFrame column per catalogue column key).

    `totals` are extra rows shown under the table (e.g. one per currency), keyed by column key.
    `highlight` names a boolean column of `rows` that marks rows to emphasise (discrepancies).
    `group_key` makes a child table: its rows are nested under the parent row whose
    `row_key` value equals this table's `group_key` value (JSON nests; PDF/HTML show groups).
    `context_columns` are parent values repeated on each child row (needed in a flat CSV); PDF
    and HTML leave them out, since the group heading already names the parent.
    """

    table: Table
    rows: pd.DataFrame
    totals: list[dict[str, Any]] = field(default_factory=list)
    highlight: str | None = None
    row_key: str | None = None
    group_key: str | None = None
    parent: str | None = None
    context_columns: tuple[str, ...] = ()  # repeated from the parent: left out under group headings
    # PDF/HTML split the table into separately titled sections by this column's value (e.g. the
    # invoice direction); flat formats keep one table and the column says which section a row is in
    section: str | None = None
    section_titles: dict[str, str] = field(default_factory=dict)  # value → heading; also the order
    # child tables, PDF/HTML only: a subtotal row (keyed by column key) shown after each group's
    # rows, by the group's key value; flat formats keep one row per detail line
    group_totals: dict[Any, dict[str, Any]] = field(default_factory=dict)


    @property
    def key(self) -> str:
        return self.table.key


@dataclass
class ReportDocument:
    definition: ReportDefinition
    organization_id: int
    organization_name: str
    period_key: str  # YYYY-MM
    period_label: str  # "October 2026"
    period_start: dt.date
    period_end: dt.date
    generated_at: dt.datetime  # timezone-aware UTC; injectable for reproducible files
    parameters: dict[str, str]
    summary: dict[str, Any]  # JSON-ready: Decimal money, str keys
    tables: list[TableData]
    cards: list[SummaryCard] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    branding: Branding = field(default_factory=Branding)
    sections: Sections = field(default_factory=Sections)
    template: str = "report.html"  # the Jinja2 template in templates/
    # data-quality findings on this organization's data (lib/rules/checks.py): an ERROR one keeps the
    # file from being made (its row fails with the check's name); WARN ones go into the summary
    check_errors: list[str] = field(default_factory=list)
    check_warnings: list[dict[str, Any]] = field(default_factory=list)
    # ERROR findings whose rows were left out of this file (lib/rules/boundaries.py: a row naming
    # another organization's reference); the rest of the file is made, and says so
    left_out: list[dict[str, Any]] = field(default_factory=list)
    # the organization has no rows for this report in the period: every format says so, so an
    # empty month is never mistaken for a report that was not produced
    no_data: bool = False

    def __post_init__(self) -> None:
        # a logo left out is a WARN finding of this file, recorded in its summary like the checks'
        if self.branding.logo_warning:
            self.add_warning({"check": LOGO_CHECK, "severity": "WARN", "message": self.branding.logo_warning})
        if self.sections.warning:
            self.add_warning({"check": MAX_ROWS_CHECK, "severity": "WARN", "message": self.sections.warning})
        if self.sections.csv_bom_warning:
            self.add_warning({"check": CSV_BOM_CHECK, "severity": "WARN", "message": self.sections.csv_bom_warning})

    def add_warning(self, finding: dict[str, Any]) -> None:
        """A WARN finding of this file: kept in check_warnings and the summary (summary_data)."""
        if finding not in self.check_warnings:
            self.check_warnings.append(finding)
        self.summary["check_warnings"] = list(self.check_warnings)

    def add_left_out(self, finding: dict[str, Any]) -> None:
        """An ERROR finding whose rows are not in this file: in the summary (summary_data, JSON,
        XLSX) and as a card in PDF/HTML, so nobody takes the totals for complete."""
        self.left_out.append(finding)
        self.summary["left_out"] = list(self.left_out)
        self.cards.append(SummaryCard(title="Left out of this report", value=str(finding["left_out"]),
                                      lines=(str(finding["message"]),), tone="bad"))

    @property
    def report_type(self) -> str:
        return self.definition.slug

    def table(self, key: str) -> TableData:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)

    @property
    def record_count(self) -> int:
        """Rows of the most detailed table (the CSV's), for generated_report.record_count."""
        key = self.definition.csv_table or self.tables[0].key
        return int(len(self.table(key).rows))
