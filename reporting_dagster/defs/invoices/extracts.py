"""Per-month extracts of the contractor invoice tables, all organizations (seed 000 §5)."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import extract_deps
from reporting_dagster.defs.resources import PlatformDatabase

def _extract(context: dg.AssetExecutionContext, platform_db: PlatformDatabase, query: str) -> dg.Output:
    period = platform_db.billing_period(context.partition_key)
    frame = platform_db.extract(query, billing_period_id=period.id)
    return dg.Output(frame, metadata={
        "rows": len(frame),
        "billing_period_id": period.id,
        **({"organizations": int(frame["organization_id"].nunique())} if "organization_id" in frame else {}),
    })


@dg.asset(
    partitions_def=billing_period,
    group_name="invoices",
    kinds={"postgres", "pandas"},
    deps=extract_deps("expected_invoice_lines"),
)
def expected_invoice_lines(context: dg.AssetExecutionContext, platform_db: PlatformDatabase) -> dg.Output[pd.DataFrame]:
    """Expected contractor invoices of the month, one row per line, organization resolved."""
    return _extract(context, platform_db, "expected_invoice_lines")


@dg.asset(
    partitions_def=billing_period,
    group_name="invoices",
    kinds={"postgres", "pandas"},
    deps=extract_deps("received_invoice_lines"),
)
def received_invoice_lines(context: dg.AssetExecutionContext, platform_db: PlatformDatabase) -> dg.Output[pd.DataFrame]:
    """Received contractor invoices of the month, one row per line, organization resolved."""
    return _extract(context, platform_db, "received_invoice_lines")


@dg.asset(
    partitions_def=billing_period,
    group_name="invoices",
    kinds={"postgres", "pandas"},
    deps=extract_deps("stored_invoice_comparisons"),
)
def stored_invoice_comparisons(context: dg.AssetExecutionContext, platform_db: PlatformDatabase) -> dg.Output[pd.DataFrame]:
    """Comparisons the platform stored for the month's invoices (status, final and adjustment)."""
    return _extract(context, platform_db, "stored_invoice_comparisons")
