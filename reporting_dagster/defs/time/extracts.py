"""Per-month extracts of the time tables, all organizations (issue #3 items 3 and 4)."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import extract_deps
from reporting_dagster.defs.resources import PlatformDatabase


def _extract(context: dg.AssetExecutionContext, platform_db: PlatformDatabase, query: str) -> dg.Output:
    period = platform_db.billing_period(context.partition_key)
    frame = platform_db.extract(query, date_from=period.start_date, date_to=period.end_date)
    return dg.Output(frame, metadata={
        "rows": len(frame),
        "billing_period_id": period.id,
        "date_from": period.start_date.isoformat(),
        "date_to": period.end_date.isoformat(),
        **({"organizations": int(frame["organization_id"].nunique())} if "organization_id" in frame else {}),
    })


@dg.asset(
    partitions_def=billing_period,
    group_name="time",
    kinds={"postgres", "pandas"},
    deps=extract_deps("time_entries"),
)
def time_entries(context: dg.AssetExecutionContext, platform_db: PlatformDatabase) -> dg.Output[pd.DataFrame]:
    """Time entries of the month (both ends inclusive) with member, task, project, organization and rate snapshots."""
    return _extract(context, platform_db, "time_entries")


@dg.asset(
    partitions_def=billing_period,
    group_name="time",
    kinds={"postgres", "pandas"},
    deps=extract_deps("project_customers"),
)
def project_customers(context: dg.AssetExecutionContext, platform_db: PlatformDatabase) -> dg.Output[pd.DataFrame]:
    """The customers (customer_project) of every project with time entries in the month."""
    return _extract(context, platform_db, "project_customers")
