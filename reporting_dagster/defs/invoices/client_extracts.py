"""Per-month extract of the invoices to clients, all organizations (seed 000 §5, invoice_to_client)."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import extract_deps
from reporting_dagster.defs.resources import PlatformDatabase

@dg.asset(
    partitions_def=billing_period,
    group_name="invoices",
    kinds={"postgres", "pandas"},
    deps=extract_deps("client_invoice_lines"),
)
def client_invoice_lines(context: dg.AssetExecutionContext, platform_db: PlatformDatabase) -> dg.Output[pd.DataFrame]:
    """Invoices to clients of the month, one row per line with metered quantity, organization resolved."""
    period = platform_db.billing_period(context.partition_key)
    frame = platform_db.extract("client_invoice_lines", billing_period_id=period.id)
    return dg.Output(frame, metadata={
        "rows": len(frame),
        "billing_period_id": period.id,
        "organizations": int(frame["organization_id"].nunique()),
    })
