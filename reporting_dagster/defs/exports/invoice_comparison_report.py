"""`invoice_comparison_report`: every organization's comparison files for the month."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs.exports.common import ExportConfig, export_organizations, files_metadata
from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib import checks
from reporting_dagster.lib.comparison import ComparisonResult, status_counts, totals_by_currency
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.reports import invoice_comparison as report


@dg.asset(
    partitions_def=billing_period,
    group_name="exports",
    kinds={"pdf", "csv", "json", "html", "s3"},
    deps=[table_key("organization"), table_key("report_template"), dg.AssetKey("standard_report_templates")],
    pool="report_exports",
)
def invoice_comparison_report(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    platform_db: PlatformDatabase,
    report_store: ReportStore,
    invoice_comparison: ComparisonResult,
) -> dg.MaterializeResult:
    """PDF, CSV, XLSX, JSON and HTML comparison files per organization, recorded in generated_report."""
    period = platform_db.billing_period(context.partition_key)
    found = checks.findings(invoice_comparison.headers)  # once for every organization
    files, docs = export_organizations(
        context, config, platform_db, report_store,
        report_type=report.DEFINITION.slug, period=period,
        organization_ids=invoice_comparison.organization_ids(),
        build=lambda org_id, ctx: report.build_checked_document(
            invoice_comparison, org_id, ctx, invoice_comparison.parameters, found),
    )
    invoices = invoice_comparison.invoices.dropna(subset=["organization_id"])
    return dg.MaterializeResult(metadata={
        **files_metadata(files, docs),
        "totals_by_currency": dg.MetadataValue.json(to_jsonable(totals_by_currency(invoices))),
        "status_counts": dg.MetadataValue.json(status_counts(invoices)),
        "largest_variances": dg.MetadataValue.md(_largest_variances(invoices)),
    })


def _largest_variances(invoices: pd.DataFrame, n: int = 10) -> str:
    both = invoices[invoices["variance"].notna()].copy()
    if both.empty:
        return "no paired invoices"
    both["abs"] = [abs(v) for v in both["variance"]]
    top = both.sort_values("abs", ascending=False).head(n)
    table = pd.DataFrame({
        "organization": top["organization_id"].astype(int),
        "contract": top["contract_name"],
        "currency": top["currency"],
        "expected": [f"{half_up(v):,.2f}" for v in top["expected_amount"]],
        "received": [f"{half_up(v):,.2f}" for v in top["received_amount"]],
        "variance": [f"{half_up(v):,.2f}" for v in top["variance"]],
        "status": top["status"],
    })
    return table.to_markdown(index=False)
