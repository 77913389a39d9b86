"""What the three invoice listing exports share (invoice_to_client, invoice_expected, invoice_received)."""

import dagster as dg

from reporting_dagster.defs.exports.common import ExportConfig, export_organizations, files_metadata
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib import listings as lst
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.reports import invoice_listings as report

ASSET_OPTIONS = {
    "group_name": "exports",
    "kinds": {"pdf", "csv", "json", "html", "s3"},
    "pool": "report_exports",
}


def export_listing(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    platform_db: PlatformDatabase,
    report_store: ReportStore,
    listing: lst.Listing,
) -> dg.MaterializeResult:
    """Every organization's files of one listing; invoices without an organization are in none."""
    period = platform_db.billing_period(context.partition_key)
    files, docs = export_organizations(
        context, config, platform_db, report_store,
        report_type=listing.report_type, period=period,
        organization_ids=listing.organization_ids(),
        build=lambda org_id, ctx: report.build_document(listing.for_organization(org_id), ctx),
    )
    resolved = listing.resolved()
    return dg.MaterializeResult(metadata={
        **files_metadata(files, docs),
        "invoices": len(resolved.invoices),
        "left_out_unresolved_invoices": len(listing.invoices) - len(resolved.invoices),
        "totals_by_currency": dg.MetadataValue.json(
            to_jsonable(lst.totals_by_currency(resolved.invoices, resolved.lines))),
    })
