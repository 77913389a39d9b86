"""`timesheet_report`: every organization's timesheet files for the month (all three groupings)."""

import dagster as dg

from reporting_dagster.defs.exports.factory import export_asset
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.documents.reports import timesheet as report
from reporting_dagster.lib.rules.timesheet import rounded, summarize

timesheet_report = export_asset(
    report_type=report.DEFINITION.slug, source="timesheet",
    builder=lambda result: lambda org_id, ctx: report.build_document(result.for_organization(org_id), ctx),
    metadata=lambda result: {"summary": dg.MetadataValue.json(to_jsonable(rounded(summarize(result.entries))))},
    description="PDF, CSV, XLSX, JSON and HTML timesheets per organization (hours by member, project and date, "
                "with the daily detail), recorded in generated_report.",
)
