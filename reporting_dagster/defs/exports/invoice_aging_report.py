"""`invoice_aging_report`: every organization's receivables aging files for the month."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs.exports.common import ExportConfig, export_organizations, files_metadata
from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.aging import AgingResult, totals_by_currency
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.reports import invoice_aging as report


@dg.asset(
    partitions_def=billing_period,
    group_name="exports",
    kinds={"pdf", "csv", "json", "html", "s3"},
    deps=[table_key("organization"), table_key("report_template"), dg.AssetKey("standard_report_templates")],
    pool="report_exports",
)
def invoice_aging_report(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    platform_db: PlatformDatabase,
    report_store: ReportStore,
    invoice_aging: AgingResult,
) -> dg.MaterializeResult:
    """PDF, CSV, XLSX, JSON and HTML aging files per organization, recorded in generated_report."""
    period = platform_db.billing_period(context.partition_key)
    files, docs = export_organizations(
        context, config, platform_db, report_store,
        report_type=report.DEFINITION.slug, period=period,
        organization_ids=invoice_aging.organization_ids(),
        build=lambda org_id, ctx: report.build_document(invoice_aging.for_organization(org_id), ctx),
    )
    totals = totals_by_currency(invoice_aging)
    return dg.MaterializeResult(metadata={
        **files_metadata(files, docs),
        "as_of_date": invoice_aging.as_of.isoformat(),
        "totals_by_currency": dg.MetadataValue.json(to_jsonable(
            {cur: {"invoices": t["invoices"], "open_amount": t["open_amount"], "overdue_amount": t["overdue_amount"]}
             for cur, t in totals.items()})),
        "largest_open_customers": dg.MetadataValue.md(_largest_customers(invoice_aging.customers)),
    })


def _largest_customers(customers: pd.DataFrame, n: int = 10) -> str:
    if customers.empty:
        return "nothing outstanding"
    top = customers.assign(_key=[-v for v in customers["open_amount"]]).sort_values(["_key", "customer_name"]).head(n)
    table = pd.DataFrame({
        "organization": top["organization_id"].astype(int),
        "customer": top["customer_name"],
        "currency": top["currency"],
        "invoices": top["invoice_count"],
        "open": [f"{half_up(v):,.2f}" for v in top["open_amount"]],
        "90+ days": [f"{half_up(v):,.2f}" for v in top["amount_90_plus"]],
    })
    return table.to_markdown(index=False)
