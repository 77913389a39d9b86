"""What every report builder shares: the organization, period and template around the data."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reporting_dagster.lib.documents.catalog import ReportDefinition
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.rules import boundaries
from reporting_dagster.lib.operations.records import Template
from reporting_dagster.lib.render.document import (
    DEFAULT_MAX_TABLE_ROWS,
    MAX_TABLE_ROWS_LIMIT,
    Branding,
    ReportDocument,
    Sections,
    csv_bom_setting,
)
from reporting_dagster.lib.infra.store import Store
from reporting_dagster.lib.documents.reports.logos import read_logo

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class ReportContext:
    """Everything around one organization's report for one period."""

    organization_id: int
    organization_name: str
    period: BillingPeriod
    generated_at: dt.datetime
    branding: Branding
    sections: Sections
    template_id: int | None = None

    def document(self, definition: ReportDefinition, **content: Any) -> ReportDocument:
        """This organization's and period's document; the builder gives the rest (parameters,
        summary, tables, cards…)."""
        return ReportDocument(
            definition=definition, organization_id=self.organization_id,
            organization_name=self.organization_name, period_key=self.period.key,
            period_label=self.period.name, period_start=self.period.start_date,
            period_end=self.period.end_date, generated_at=self.generated_at, **content)


def branding_from(template: Template | None, store: Store | None, organization_id: int | None = None) -> Branding:
    """The template's branding. The logo is read from the store (only from the organization's own
    branding folder or the shared one: logos.py) and embedded as a data: URI; a logo left out
    leaves a warning the document puts into its summary. `organization_id`: the report's
    organization (default: the template's own); a template of another organization gets no logo."""
    if template is None:
        return Branding()
    color = template.brand_color if template.brand_color and _COLOR.match(template.brand_color) else Branding.brand_color
    owner = template.organization_id if organization_id is None else organization_id
    if template.organization_id is not None and owner != template.organization_id:
        owner = None  # never another organization's template
    logo = read_logo(store, template.logo_path, owner, template.id)
    return Branding(
        brand_color=color,
        header_text=template.header_text,
        footer_text=template.footer_text,
        logo_data_uri=logo.data_uri,
        logo_warning=logo.warning,
    )


MAX_ROWS_KEY = "pdf_max_rows"


def max_table_rows(config: Any) -> tuple[int, str | None]:
    """template_config's "pdf_max_rows": (rows, None) when it is a whole number from 1 to
    MAX_TABLE_ROWS_LIMIT (or absent: the default), else (the default, why it was not used): a
    bad setting keeps the report and is reported as a WARN finding in its summary."""
    if not isinstance(config, dict) or MAX_ROWS_KEY not in config:
        return DEFAULT_MAX_TABLE_ROWS, None
    value = config[MAX_ROWS_KEY]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_TABLE_ROWS_LIMIT:
        return value, None
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
    return DEFAULT_MAX_TABLE_ROWS, (
        f"template_config {MAX_ROWS_KEY} must be a whole number from 1 to {MAX_TABLE_ROWS_LIMIT:,d}, got {shown}; "
        f"PDF and HTML show up to {DEFAULT_MAX_TABLE_ROWS:,d} rows per table (the default)")


def sections_from(template: Template | None) -> Sections:
    if template is None:
        return Sections()
    rows, warning = max_table_rows(template.template_config)
    bom, bom_warning = csv_bom_setting(template.template_config)
    return Sections(summary=template.include_summary, line_items=template.include_line_items,
                    charts=template.include_charts, max_table_rows=rows, warning=warning,
                    csv_bom=bom, csv_bom_warning=bom_warning)


def with_left_out(doc: ReportDocument, left_out: pd.DataFrame | None, id_column: str, noun: str) -> ReportDocument:
    """The document with the ERROR finding of its organization's rows that were left out for
    naming another organization (lib/rules/boundaries.py); unchanged when there are none."""
    found = boundaries.finding(left_out, id_column, noun)
    if found is not None:
        doc.add_left_out(found)
    return doc
