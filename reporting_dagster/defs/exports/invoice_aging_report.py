"""`invoice_aging_report`: every organization's receivables aging files for the month."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs import metadata
from reporting_dagster.defs.exports.factory import FILES, export_asset
from reporting_dagster.defs.receivables.aging import AGING_TOTALS, brief_totals
from reporting_dagster.lib.rules.aging import AgingResult
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.documents.reports import invoice_aging as report


def _metadata(result: AgingResult) -> dict:
    return {
        "as_of_date": result.as_of.isoformat(),
        "totals_by_organization": metadata.totals_by_organization(result, brief_totals, AGING_TOTALS),
        "largest_open_customers": dg.MetadataValue.md(_largest_customers(result.customers)),
    }


invoice_aging_report = export_asset(
    report_type=report.DEFINITION.slug, source="invoice_aging", metadata=_metadata,
    builder=lambda result: lambda org_id, ctx: report.build_document(result.for_organization(org_id), ctx),
    description="Receivables aging at the month's last day: open client invoices by age bucket, customer and "
                f"currency{FILES}",
)


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
    return metadata.markdown(table.to_dict("records"))
