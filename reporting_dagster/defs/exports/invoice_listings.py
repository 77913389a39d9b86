"""The three invoice listing exports (invoice_to_client, invoice_expected, invoice_received): one
declaration, since they differ only in their report type."""

import dagster as dg

from reporting_dagster.defs import metadata
from reporting_dagster.defs.exports.factory import export_asset
from reporting_dagster.defs.invoices.listings import LISTING_TOTALS
from reporting_dagster.lib.rules import listings as lst
from reporting_dagster.lib.documents.reports import invoice_listings as report

DESCRIPTIONS = {
    lst.CLIENT: "the month's invoices to clients (lines, metered quantities, totals per currency)",
    lst.EXPECTED: "the month's expected contractor invoices (current versions; payable and receivable apart)",
    lst.RECEIVED: "the month's received contractor invoices (vendor numbers, dates, status; per direction)",
}


def _metadata(listing: lst.Listing) -> dict:
    """Invoices without an organization are in no file: counted here, listed by the asset check."""
    resolved = listing.resolved()
    return {
        "invoices": len(resolved.invoices),
        "left_out_unresolved_invoices": len(listing.invoices) - len(resolved.invoices),
        "totals_by_organization": metadata.totals_by_organization(
            resolved, lambda part: lst.totals_by_currency(part.invoices, part.lines), LISTING_TOTALS),
    }


def listing_export(report_type: str) -> dg.AssetsDefinition:
    return export_asset(
        report_type=report_type, source=report_type, metadata=_metadata,
        builder=lambda listing: lambda org_id, ctx: report.build_document(listing.for_organization(org_id), ctx),
        description=f"PDF, CSV, XLSX, JSON and HTML files per organization of {DESCRIPTIONS[report_type]}, "
                    "recorded in generated_report.",
    )
