"""`project_profitability_report`: every organization's profitability files for the month."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs.exports.common import ExportConfig, export_organizations, files_metadata
from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.profitability import ProfitabilityResult, totals_by_currency
from reporting_dagster.lib.reports import project_profitability as report
from reporting_dagster.lib.timesheet import rounded


@dg.asset(
    partitions_def=billing_period,
    group_name="exports",
    kinds={"pdf", "csv", "json", "html", "s3"},
    deps=[table_key("organization"), table_key("report_template"), dg.AssetKey("standard_report_templates")],
    pool="report_exports",
)
def project_profitability_report(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    platform_db: PlatformDatabase,
    report_store: ReportStore,
    project_profitability: ProfitabilityResult,
) -> dg.MaterializeResult:
    """PDF, CSV, XLSX, JSON and HTML profitability files per organization, recorded in generated_report."""
    period = platform_db.billing_period(context.partition_key)
    files, docs = export_organizations(
        context, config, platform_db, report_store,
        report_type=report.DEFINITION.slug, period=period,
        organization_ids=project_profitability.organization_ids(),
        build=lambda org_id, ctx: report.build_document(project_profitability.for_organization(org_id), ctx),
    )
    return dg.MaterializeResult(metadata={
        **files_metadata(files, docs),
        "totals_by_currency": dg.MetadataValue.json(to_jsonable(rounded(totals_by_currency(project_profitability.rows)))),
        "lowest_margins": dg.MetadataValue.md(_lowest_margins(project_profitability.rows)),
    })


def _lowest_margins(rows: pd.DataFrame, n: int = 10) -> str:
    if rows.empty:
        return "no projects"
    margins = rows["margin"].tolist()
    top = rows.iloc[sorted(range(len(rows)), key=lambda i: margins[i])[:n]]  # Decimal order, lowest first
    return pd.DataFrame({
        "organization": top["organization_id"].astype(int),
        "project": top["project_name"],
        "currency": top["currency"],
        "revenue": [f"{half_up(v):,.2f}" for v in top["revenue"]],
        "cost": [f"{half_up(v):,.2f}" for v in top["cost"]],
        "margin": [f"{half_up(v):,.2f}" for v in top["margin"]],
        "margin_percent": ["" if p is None else f"{p}%" for p in top["margin_percent"]],
    }).to_markdown(index=False)

