"""`timesheet_report`: every organization's timesheet files for the month (all three groupings)."""

import dagster as dg

from reporting_dagster.defs.exports.common import ExportConfig, export_organizations, files_metadata
from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.reports import timesheet as report
from reporting_dagster.lib.timesheet import TimesheetResult, rounded, summarize


@dg.asset(
    partitions_def=billing_period,
    group_name="exports",
    kinds={"pdf", "csv", "json", "html", "s3"},
    deps=[table_key("organization"), table_key("report_template"), dg.AssetKey("standard_report_templates")],
    pool="report_exports",
)
def timesheet_report(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    platform_db: PlatformDatabase,
    report_store: ReportStore,
    timesheet: TimesheetResult,
) -> dg.MaterializeResult:
    """PDF, CSV, XLSX, JSON and HTML timesheets per organization, recorded in generated_report."""
    period = platform_db.billing_period(context.partition_key)
    files, docs = export_organizations(
        context, config, platform_db, report_store,
        report_type=report.DEFINITION.slug, period=period,
        organization_ids=timesheet.organization_ids(),
        build=lambda org_id, ctx: report.build_document(timesheet.for_organization(org_id), ctx),
    )
    return dg.MaterializeResult(metadata={
        **files_metadata(files, docs),
        "summary": dg.MetadataValue.json(to_jsonable(rounded(summarize(timesheet.entries)))),
    })
