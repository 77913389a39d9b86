"""`timesheet`: the month's hours by member, project and date, every organization."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from reporting_dagster.defs.partitions import billing_period, monthly_check_specs
from reporting_dagster.lib.rules import timesheet as ts
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.infra.periods import month_bounds

CHECKS = {
    "member_and_project_same_organization":
        "Every entry's member belongs to its project's organization (the entry is reported under the project's).",
}


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
        "summary": dg.MetadataValue.json(to_jsonable(ts.rounded(ts.summarize(result.entries)))),
        **result.parameters,
    })
    mismatches = ts.organization_mismatches(ts.prepare(time_entries))
    yield dg.AssetCheckResult(
        check_name="member_and_project_same_organization", passed=mismatches.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"entries": len(mismatches), "listing": dg.MetadataValue.md(
            mismatches[["entry_id", "organization_id", "member_organization_id", "member_id", "project_id"]]
            .head(50).to_markdown(index=False) if len(mismatches) else "none")},
    )

