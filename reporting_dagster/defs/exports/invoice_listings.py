"""The three invoice listing exports (invoice_to_client, invoice_expected, invoice_received): one
declaration, since they differ only in their report type."""

import dagster as dg

from reporting_dagster.defs import metadata
from reporting_dagster.defs.exports.factory import FILES, export_asset
from reporting_dagster.defs.invoices.listings import LISTING_TOTALS
from reporting_dagster.lib.rules import listings as lst
from reporting_dagster.lib.documents.reports import invoice_listings as report

# each says first what it lists: the UI shows the start of a description on the asset's node
DESCRIPTIONS = {
    lst.CLIENT: "Invoices issued to clients in the month: lines, metered quantities, totals per currency",
    lst.EXPECTED: "Expected contractor invoices of the month (current versions): what each contract should "
                  "bill, payable and receivable apart",
    lst.RECEIVED: "Received contractor invoices of the month: vendor numbers, dates, status, per direction",
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
        description=f"{DESCRIPTIONS[report_type]}{FILES}",
    )
