"""report_statistics: seed 000's get_report_statistics for every organization, as metadata."""

import datetime as dt

import dagster as dg

from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase
from reporting_dagster.lib.operations import statistics


@dg.asset(group_name="maintenance", kinds={"postgres"}, deps=[table_key("generated_report")])
def report_statistics(platform_db: PlatformDatabase) -> dg.MaterializeResult:
    """Reports of the last 30 days per organization: total, completed, failed, pending, records, avg time."""
    now = dt.datetime.now(dt.timezone.utc)
    rows = statistics.report_statistics(platform_db.engine, now=now, days=statistics.DEFAULT_DAYS)
    return dg.MaterializeResult(metadata={
        "window_days": statistics.DEFAULT_DAYS,
        "window_end": dg.MetadataValue.timestamp(now),
        "organizations": len(rows),
        "total_reports": sum(r.total_reports for r in rows),
        "completed_reports": sum(r.completed_reports for r in rows),
        "failed_reports": sum(r.failed_reports for r in rows),
        "pending_reports": sum(r.pending_reports for r in rows),
        "total_records_exported": sum(r.total_records_exported for r in rows),
        "by_organization": dg.MetadataValue.md(statistics.markdown_table(rows)),
    })
