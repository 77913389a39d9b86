"""The report catalogue and the standard templates, kept in the platform's tables."""

import dagster as dg

from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase
from reporting_dagster.lib.operations import maintenance
from reporting_dagster.lib.documents.catalog import CATALOG


@dg.asset(group_name="maintenance", kinds={"postgres"})
def report_catalog(platform_db: PlatformDatabase) -> dg.MaterializeResult:
    """Upserts every report definition into report_definition (a newer version replaces the row)."""
    result = maintenance.sync_report_definitions(platform_db.engine)
    return dg.MaterializeResult(metadata={
        "report_types": len(CATALOG),
        "inserted": dg.MetadataValue.json(result.inserted),
        "updated": dg.MetadataValue.json(result.updated),
        "unchanged": dg.MetadataValue.json(result.unchanged),
        "newer_in_database": dg.MetadataValue.json(result.newer_in_database),
    })


@dg.asset(group_name="maintenance", kinds={"postgres"}, deps=[table_key("organization"), report_catalog])
def standard_report_templates(platform_db: PlatformDatabase) -> dg.MaterializeResult:
    """Gives every organization one org-wide active template per report type; never edits existing ones."""
    created = maintenance.ensure_standard_templates(platform_db.engine)
    return dg.MaterializeResult(metadata={
        "templates_created": sum(len(v) for v in created.values()),
        "created_by_report_type": dg.MetadataValue.json({k: v for k, v in created.items() if v}),
    })
