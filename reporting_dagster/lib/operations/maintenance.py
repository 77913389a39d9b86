"""Catalogue and standard-template seeding (seed 002 §19.2, seed 000 §7)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.documents.catalog import CATALOG, ReportDefinition
from reporting_dagster.lib.jsonutil import dumps
from reporting_dagster.lib.infra.paths import read_named_sql

_SQL = read_named_sql("maintenance.sql")

# seed 000 §7 for the invoice reports; the same idea for seed 002's reports
STANDARD_SECTIONS: dict[str, tuple[str, ...]] = {
    "invoice_to_client": ("line_items", "meter_summary", "adjustments"),
    "invoice_expected": ("line_items", "calculation_details"),
    "invoice_received": ("line_items",),
    "invoice_comparison": ("variance_breakdown", "line_item_matching", "highlight_discrepancies"),
    "invoice_aging": ("bucket_summary", "customer_subtotals", "invoice_detail"),
    "timesheet": ("by_member", "by_project", "by_date"),
    "project_profitability": ("summary", "project_detail", "margin_chart"),
}


@dataclass
class SyncResult:
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    newer_in_database: list[str] = field(default_factory=list)


def _definition_params(d: ReportDefinition) -> dict:
    return {"slug": d.slug, "name": d.name, "description": d.description, "category": d.category,
            "parameter_schema": dumps(d.parameter_schema()), "column_definitions": dumps(d.column_definitions()),
            "sort_order": d.sort_order, "version": d.version}


def sync_report_definitions(engine: Engine, catalog: dict[str, ReportDefinition] = CATALOG) -> SyncResult:
    """Upsert the catalogue into report_definition by version: newer replaces, same changes nothing."""
    result = SyncResult()
    with engine.begin() as conn:
        stored = dict(conn.execute(sa.text(_SQL["report_definition_versions"])).all())
        for slug, definition in catalog.items():
            params = _definition_params(definition)
            if slug not in stored:
                conn.execute(sa.text(_SQL["insert_report_definition"]), params)
                result.inserted.append(slug)
            elif stored[slug] < definition.version:
                conn.execute(sa.text(_SQL["update_report_definition"]), params)
                result.updated.append(slug)
            elif stored[slug] == definition.version:
                result.unchanged.append(slug)
            else:
                result.newer_in_database.append(slug)
    return result


def ensure_standard_templates(engine: Engine, catalog: dict[str, ReportDefinition] = CATALOG) -> dict[str, list[int]]:
    """Create the missing org-wide templates; return {report_type: [organization ids given one]}."""
    created: dict[str, list[int]] = {}
    with engine.begin() as conn:
        for slug, definition in catalog.items():
            config = {"sections": list(STANDARD_SECTIONS.get(slug, ())), "standard": True}
            orgs = conn.execute(sa.text(_SQL["ensure_standard_template"]), {
                "name": definition.name, "description": definition.description, "report_type": slug,
                "template_config": dumps(config),
            }).scalars().all()
            created[slug] = [int(o) for o in orgs]
    return created
