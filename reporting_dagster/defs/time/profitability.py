"""`project_profitability`: the month's revenue, cost and margin per project and currency."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from reporting_dagster.defs import boundary_checks, metadata
from reporting_dagster.defs.partitions import billing_period, monthly_check_specs
from reporting_dagster.lib.rules import profitability as pf
from reporting_dagster.lib.infra.periods import month_bounds

CHECKS = {
    "billable_entries_have_billing_rate":
        "Every billable entry has a billing rate snapshot (otherwise its hours earn no revenue).",
    "member_and_project_same_organization": boundary_checks.description("time entry", "project, member"),
}
PROFITABILITY_TOTALS = {"projects": "Projects", "billable_hours": "Billable hours", "revenue": "Revenue",
                        "cost": "Cost", "margin": "Margin", "margin_percent": "Margin %"}


@dg.asset(
    partitions_def=billing_period,
    group_name="time",
    kinds={"pandas"}, code_version=pf.RULES_VERSION,
    check_specs=monthly_check_specs("project_profitability", CHECKS),
)
def project_profitability(
    context: dg.AssetExecutionContext, time_entries: pd.DataFrame, project_customers: pd.DataFrame,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Billable hours, revenue, cost, margin and margin % per project and currency."""
    start, end = month_bounds(context.partition_key)
    result = pf.profitability(time_entries, project_customers, start, end)
    yield dg.Output(result, metadata={
        "organizations": len(result.organization_ids()),
        "rows": len(result.rows),
        "totals_by_organization": metadata.totals_by_organization(
            result, lambda part: pf.totals_by_currency(part.rows), PROFITABILITY_TOTALS),
        **result.parameters,
    })
    unpriced = result.unpriced
    yield dg.AssetCheckResult(
        check_name="billable_entries_have_billing_rate", passed=unpriced.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"projects": len(unpriced), "listing": metadata.table(unpriced)},
    )
    yield boundary_checks.left_out_result("member_and_project_same_organization", result.left_out)
