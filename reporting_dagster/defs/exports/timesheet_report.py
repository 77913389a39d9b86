"""`timesheet_report`: every organization's timesheet files for the month (all three groupings)."""

import dagster as dg

from reporting_dagster.defs import metadata
from reporting_dagster.defs.exports.factory import FILES, export_asset
from reporting_dagster.defs.time.timesheet import TIMESHEET_SUMMARY
from reporting_dagster.lib.documents.reports import timesheet as report
from reporting_dagster.lib.rules.timesheet import summarize

timesheet_report = export_asset(
    report_type=report.DEFINITION.slug, source="timesheet",
    builder=lambda result: lambda org_id, ctx: report.build_document(result.for_organization(org_id), ctx),
    metadata=lambda result: {"summary_by_organization": metadata.summary_by_organization(
        result, lambda part: summarize(part.entries), TIMESHEET_SUMMARY)},
    description=f"Timesheets: hours by member, project and date, with the daily detail{FILES}",
)
