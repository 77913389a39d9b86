"""`invoice_expected_report`: the month's expected contractor invoices as every organization's files."""

import dagster as dg

from reporting_dagster.defs.exports.common import ExportConfig
from reporting_dagster.defs.exports.invoice_listings import ASSET_OPTIONS, export_listing
from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.listings import Listing


@dg.asset(
    partitions_def=billing_period,
    deps=[table_key("organization"), table_key("report_template"), dg.AssetKey("standard_report_templates")],
    **ASSET_OPTIONS,
)
def invoice_expected_report(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    platform_db: PlatformDatabase,
    report_store: ReportStore,
    invoice_expected: Listing,
) -> dg.MaterializeResult:
    """PDF, CSV, XLSX, JSON and HTML files per organization, recorded in generated_report."""
    return export_listing(context, config, platform_db, report_store, invoice_expected)
