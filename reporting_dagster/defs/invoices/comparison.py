"""`invoice_comparison`: expected versus received contractor invoices, with its asset checks.

The checks are evaluated inside the asset (check_specs) on the result it just computed, so they
always see the same partition and nothing is loaded twice.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd
from pydantic import Field

from reporting_dagster.defs import metadata
from reporting_dagster.defs.partitions import billing_period, monthly_check_specs
from reporting_dagster.lib.rules import comparison as cmp
from reporting_dagster.lib.rules.checks import (
    duplicate_vendor_invoices,
    headers_counted_twice,
    line_total_mismatches,
    organization_conflicts,
    pairs_across_organizations,
    unresolved_invoices,
)

CHECKS = {
    "line_totals_match_headers": "Each header's total equals the sum of its lines.",
    "no_invoice_counted_twice": "No invoice is counted in two pairs; no vendor invoice number appears twice.",
    "every_invoice_has_organization": "Every invoice resolves to an organization (through project, then contract).",
    "invoices_resolve_to_one_organization": "No invoice's project, contract or contractor belongs to another "
                                            "organization than the invoice (ERROR: those organizations' files "
                                            "are not made).",
    "pairs_within_one_organization": "No pair links invoices of two organizations, or of one and of none, and no "
                                     "stored comparison links to another organization's invoice (ERROR: those "
                                     "organizations' files are not made).",
}

COMPARISON_TOTALS = {"expected": "Expected", "received": "Received", "variance": "Variance",
                     "variance_percent": "Variance %", "pairs": "Pairs", "stored_disagreements": "Stored verdict differs"}


class ComparisonConfig(dg.Config):
    tolerance_absolute: str = Field(default=cmp.DEFAULT_TOLERANCE_ABSOLUTE, description="|variance| at or below this is matched")
    tolerance_percent: str = Field(default=cmp.DEFAULT_TOLERANCE_PERCENT,
                                   description="|variance| at or below this % of expected is matched")


@dg.asset(
    partitions_def=billing_period,
    group_name="invoices",
    kinds={"pandas"}, code_version=cmp.RULES_VERSION,
    check_specs=monthly_check_specs("invoice_comparison", CHECKS),
)
def invoice_comparison(
    context: dg.AssetExecutionContext,
    config: ComparisonConfig,
    expected_invoice_lines: pd.DataFrame,
    received_invoice_lines: pd.DataFrame,
    stored_invoice_comparisons: pd.DataFrame,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Variance per invoice pair and per line; matched, over-, under-billed or one-sided."""
    tolerance = cmp.Tolerance.parse(config.tolerance_absolute, config.tolerance_percent)
    result = cmp.compare(expected_invoice_lines, received_invoice_lines, stored_invoice_comparisons, tolerance,
                         billing_period=context.partition_key)
    yield dg.Output(result, metadata={
        "pairs": len(result.invoices),
        "lines": len(result.lines),
        "organizations": len(result.organization_ids()),
        "status_counts": dg.MetadataValue.json(cmp.status_counts(result.invoices)),
        "totals_by_organization": metadata.totals_by_organization(
            result, lambda part: cmp.totals_by_currency(part.invoices), COMPARISON_TOTALS),
        "stored_disagreements": int(result.invoices["status_disagrees"].sum()) if len(result.invoices) else 0,
        **result.parameters,
    })
    yield from check_results(result.headers)


def _listing(frame: pd.DataFrame) -> dg.MetadataValue:
    return metadata.table(frame)


def check_results(headers: pd.DataFrame) -> Iterator[dg.AssetCheckResult]:
    bad = line_total_mismatches(headers)
    yield dg.AssetCheckResult(
        check_name="line_totals_match_headers", passed=bad.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"mismatched_invoices": len(bad), "invoices": _listing(bad)},
    )
    twice = headers_counted_twice(headers)
    duplicates = duplicate_vendor_invoices(headers)
    yield dg.AssetCheckResult(
        check_name="no_invoice_counted_twice", passed=twice.empty and duplicates.empty,
        severity=dg.AssetCheckSeverity.ERROR if not twice.empty else dg.AssetCheckSeverity.WARN,
        metadata={"counted_twice": len(twice), "duplicate_vendor_invoices": len(duplicates),
                  "duplicates": _listing(duplicates)},
    )
    unresolved = unresolved_invoices(headers)
    yield dg.AssetCheckResult(
        check_name="every_invoice_has_organization", passed=unresolved.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"unresolved_invoices": len(unresolved), "invoices": _listing(unresolved)},
    )
    for name, bad in (("invoices_resolve_to_one_organization", organization_conflicts(headers)),
                      ("pairs_within_one_organization", pairs_across_organizations(headers))):
        yield dg.AssetCheckResult(check_name=name, passed=bad.empty, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"invoices": len(bad), "listed": _listing(bad)})
