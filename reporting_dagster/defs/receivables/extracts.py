"""Per-month extract of the invoices to clients that may be open at the month's last day."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import extract_deps
from reporting_dagster.defs.resources import PlatformDatabase

@dg.asset(
    partitions_def=billing_period,
    group_name="receivables",
    kinds={"postgres", "pandas"},
    deps=extract_deps("receivable_invoices"),
)
def receivable_invoices(context: dg.AssetExecutionContext, platform_db: PlatformDatabase) -> dg.Output[pd.DataFrame]:
    """Client invoices (sent, disputed, paid) issued by the month's last day, with what had been
    paid by that day: the as-of date is the billing period's end, so later payments never change
    a past month."""
    period = platform_db.billing_period(context.partition_key)
    frame = platform_db.extract("receivable_invoices", as_of_date=period.end_date)
    return dg.Output(frame, metadata={
        "rows": len(frame),
        "billing_period_id": period.id,
        "as_of_date": period.end_date.isoformat(),
        "organizations": int(frame["organization_id"].nunique()),
    })
