"""`invoice_comparison`: expected versus received contractor invoices, with its asset checks."""

import dagster as dg
import pandas as pd
from pydantic import Field

from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.lib import comparison as cmp
from reporting_dagster.lib.checks import (
    duplicate_vendor_invoices,
    headers_counted_twice,
    line_total_mismatches,
    unresolved_invoices,
)
from reporting_dagster.lib.jsonutil import to_jsonable


class ComparisonConfig(dg.Config):
    tolerance_absolute: str = Field(default="0.01", description="|variance| at or below this is matched")
    tolerance_percent: str = Field(default="0", description="|variance| at or below this % of expected is matched")


@dg.asset(
    partitions_def=billing_period,
    group_name="invoices",
    kinds={"pandas"},
)
def invoice_comparison(
    context: dg.AssetExecutionContext,
    config: ComparisonConfig,
    expected_invoice_lines: pd.DataFrame,
    received_invoice_lines: pd.DataFrame,
    stored_invoice_comparisons: pd.DataFrame,
) -> dg.Output[cmp.ComparisonResult]:
    """Variance per invoice pair and per line; matched, over-, under-billed or one-sided."""
    tolerance = cmp.Tolerance.parse(config.tolerance_absolute, config.tolerance_percent)
    result = cmp.compare(expected_invoice_lines, received_invoice_lines, stored_invoice_comparisons, tolerance)
    return dg.Output(result, metadata={
        "pairs": len(result.invoices),
        "lines": len(result.lines),
        "organizations": len(result.organization_ids()),
        "status_counts": dg.MetadataValue.json(cmp.status_counts(result.invoices)),
        "totals_by_currency": dg.MetadataValue.json(to_jsonable(cmp.totals_by_currency(result.invoices))),
        "stored_disagreements": int(result.invoices["status_disagrees"].sum()) if len(result.invoices) else 0,
        **{k: v for k, v in result.parameters.items()},
    })


def _listing(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.head(50).to_markdown(index=False) if len(frame) else "none")


@dg.asset_check(asset=invoice_comparison, description="Each header's total equals the sum of its lines.")
def line_totals_match_headers(invoice_comparison: cmp.ComparisonResult) -> dg.AssetCheckResult:
    bad = line_total_mismatches(invoice_comparison.headers)
    return dg.AssetCheckResult(
        passed=bad.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"mismatched_invoices": len(bad), "invoices": _listing(bad)},
    )


@dg.asset_check(asset=invoice_comparison, description="No invoice is counted in two pairs; no vendor invoice number appears twice.")
def no_invoice_counted_twice(invoice_comparison: cmp.ComparisonResult) -> dg.AssetCheckResult:
    twice = headers_counted_twice(invoice_comparison.headers)
    duplicates = duplicate_vendor_invoices(invoice_comparison.headers)
    return dg.AssetCheckResult(
        passed=twice.empty and duplicates.empty,
        severity=dg.AssetCheckSeverity.ERROR if not twice.empty else dg.AssetCheckSeverity.WARN,
        metadata={"counted_twice": len(twice), "duplicate_vendor_invoices": len(duplicates),
                  "duplicates": _listing(duplicates)},
    )


@dg.asset_check(asset=invoice_comparison, description="Every invoice resolves to an organization (through project, then contract).")
def every_invoice_has_organization(invoice_comparison: cmp.ComparisonResult) -> dg.AssetCheckResult:
    unresolved = unresolved_invoices(invoice_comparison.headers)
    return dg.AssetCheckResult(
        passed=unresolved.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"unresolved_invoices": len(unresolved), "invoices": _listing(unresolved)},
    )
