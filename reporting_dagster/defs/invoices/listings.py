"""`invoice_to_client`, `invoice_expected`, `invoice_received`: the month's invoices with their lines.

Report data for the three plain listings (pure logic in lib/rules/listings.py). The client listing
carries the asset checks for invoices to clients (the contractor invoices are checked by
invoice_comparison): evaluated inside the asset on the result it just computed.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from reporting_dagster.defs import boundary_checks, metadata
from reporting_dagster.defs.partitions import billing_period, monthly_check_specs
from reporting_dagster.lib.rules import listings as lst

CLIENT_CHECKS = {
    "every_invoice_has_organization": "Every invoice to a client resolves to an organization "
                                      "(through project, then contract); unresolved ones are in no file.",
    "line_totals_match_headers": "Each client invoice's total equals the sum of its lines.",
    "no_duplicate_invoice_numbers": "No invoice number appears twice for one client in the month.",
    boundary_checks.CHECK: boundary_checks.description("invoice", "project, contract, client"),
}
CONTRACTOR_CHECKS = {boundary_checks.CHECK: boundary_checks.description("invoice", "project, contract, contractor")}
LISTING_TOTALS = {"invoices": "Invoices", "lines": "Lines", "amount": "Amount", "lines_total": "Sum of lines",
                  "credits": "Credits", "mismatched_invoices": "Mismatched invoices"}


def _metadata(listing: lst.Listing) -> dict[str, dg.RawMetadataValue]:
    resolved = listing.resolved()
    return {
        "invoices": len(listing.invoices),
        "lines": len(listing.lines),
        "organizations": len(listing.organization_ids()),
        "unresolved_invoices": int(listing.invoices["organization_id"].isna().sum()),
        "left_out_foreign_reference_invoices": len(listing.left_out),
        "mismatched_invoices": int(listing.invoices["total_mismatch"].sum()) if len(listing.invoices) else 0,
        "totals_by_organization": metadata.totals_by_organization(
            resolved, lambda part: lst.totals_by_currency(part.invoices, part.lines), LISTING_TOTALS),
    }


def _listing_table(frame: pd.DataFrame) -> dg.MetadataValue:
    return metadata.table(frame)


@dg.asset(
    partitions_def=billing_period,
    group_name="invoices",
    kinds={"pandas"}, code_version=lst.RULES_VERSION,
    check_specs=monthly_check_specs("invoice_to_client", CLIENT_CHECKS),
)
def invoice_to_client(client_invoice_lines: pd.DataFrame) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Invoices issued to clients, per organization: lines with metered quantity, totals per currency."""
    listing = lst.build_listing(client_invoice_lines, lst.CLIENT)
    yield dg.Output(listing, metadata=_metadata(listing))
    yield from client_check_results(listing)


def client_check_results(listing: lst.Listing) -> Iterator[dg.AssetCheckResult]:
    unresolved = lst.unresolved_invoices(listing)
    yield dg.AssetCheckResult(
        check_name="every_invoice_has_organization", passed=unresolved.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"unresolved_invoices": len(unresolved), "invoices": _listing_table(unresolved)},
    )
    bad = lst.total_mismatches(listing)
    yield dg.AssetCheckResult(
        check_name="line_totals_match_headers", passed=bad.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"mismatched_invoices": len(bad), "invoices": _listing_table(bad)},
    )
    dup = lst.duplicate_invoice_numbers(listing)
    yield dg.AssetCheckResult(
        check_name="no_duplicate_invoice_numbers", passed=dup.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"duplicate_invoices": len(dup), "invoices": _listing_table(dup)},
    )
    yield boundary_checks.left_out_result(boundary_checks.CHECK, listing.left_out)


@dg.asset(partitions_def=billing_period, group_name="invoices", kinds={"pandas"}, code_version=lst.RULES_VERSION,
          check_specs=monthly_check_specs("invoice_expected", CONTRACTOR_CHECKS))
def invoice_expected(expected_invoice_lines: pd.DataFrame) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Expected contractor invoices, per organization: contract, project, contractor, lines."""
    listing = lst.build_listing(expected_invoice_lines, lst.EXPECTED)
    yield dg.Output(listing, metadata=_metadata(listing))
    yield boundary_checks.left_out_result(boundary_checks.CHECK, listing.left_out)


@dg.asset(partitions_def=billing_period, group_name="invoices", kinds={"pandas"}, code_version=lst.RULES_VERSION,
          check_specs=monthly_check_specs("invoice_received", CONTRACTOR_CHECKS))
def invoice_received(received_invoice_lines: pd.DataFrame) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Received contractor invoices, per organization: vendor number, dates, status, received date, lines."""
    listing = lst.build_listing(received_invoice_lines, lst.RECEIVED)
    yield dg.Output(listing, metadata=_metadata(listing))
    yield boundary_checks.left_out_result(boundary_checks.CHECK, listing.left_out)
