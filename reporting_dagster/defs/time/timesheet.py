"""`timesheet`: the month's hours by member, project and date, every organization."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from reporting_dagster.defs import boundary_checks, metadata
from reporting_dagster.defs.partitions import billing_period, monthly_check_specs
from reporting_dagster.lib.rules import timesheet as ts
from reporting_dagster.lib.infra.periods import month_bounds

MEMBER_CHECK = "member_and_project_same_organization"
CHECKS = {MEMBER_CHECK: boundary_checks.description("time entry", "project, member")}
TIMESHEET_SUMMARY = {"total_hours": "Hours", "billable_hours": "Billable hours", "non_billable_hours": "Non-billable hours",
                     "billable_percent": "Billable %", "entry_count": "Entries", "members": "Members",
                     "projects": "Projects", "days": "Days"}


@dg.asset(
    partitions_def=billing_period,
    group_name="time",
    kinds={"pandas"}, code_version=ts.RULES_VERSION,
    check_specs=monthly_check_specs("timesheet", CHECKS),
)
def timesheet(context: dg.AssetExecutionContext, time_entries: pd.DataFrame) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Total, billable and non-billable hours and entry counts per member, project and date."""
    start, end = month_bounds(context.partition_key)  # the extract holds only these dates
    result = ts.timesheet(time_entries, start, end, group_by=ts.ALL)
    yield dg.Output(result, metadata={
        "organizations": len(result.organization_ids()),
        "entries": len(result.entries),
        "members": len(result.tables[ts.MEMBER]),
        "projects": len(result.tables[ts.PROJECT]),
        "summary_by_organization": metadata.summary_by_organization(
            result, lambda part: ts.summarize(part.entries), TIMESHEET_SUMMARY),
        **result.parameters,
    })
    yield boundary_checks.left_out_result(MEMBER_CHECK, result.left_out)

