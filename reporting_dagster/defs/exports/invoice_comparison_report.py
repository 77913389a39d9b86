"""`invoice_comparison_report`: every organization's comparison files for the month."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs import metadata
from reporting_dagster.defs.exports.factory import FILES, export_asset
from reporting_dagster.defs.invoices.comparison import COMPARISON_TOTALS
from reporting_dagster.lib.rules import checks
from reporting_dagster.lib.rules.comparison import ComparisonResult, status_counts, totals_by_currency
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.documents.reports import invoice_comparison as report


def _builder(result: ComparisonResult):
    found = checks.findings(result.headers)  # once for every organization
    return lambda org_id, ctx: report.build_checked_document(result, org_id, ctx, result.parameters, found)


def _metadata(result: ComparisonResult) -> dict:
    invoices = result.invoices.dropna(subset=["organization_id"])
    return {
        "totals_by_organization": metadata.totals_by_organization(
            result, lambda part: totals_by_currency(part.invoices.dropna(subset=["organization_id"])), COMPARISON_TOTALS),
        "status_counts": dg.MetadataValue.json(status_counts(invoices)),
        "largest_variances": dg.MetadataValue.md(_largest_variances(invoices)),
    }


invoice_comparison_report = export_asset(
    report_type=report.DEFINITION.slug, source="invoice_comparison", builder=_builder, metadata=_metadata,
    description="Expected versus received contractor invoices: variances per pair and line, payable and "
                f"receivable apart (ERROR checks block the organizations they concern){FILES}",
)


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
    return metadata.markdown(table.to_dict("records"))
