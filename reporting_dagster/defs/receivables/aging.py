"""`invoice_aging`: receivables aged at the last day of the month, with its asset checks."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from reporting_dagster.defs import boundary_checks, metadata
from reporting_dagster.defs.partitions import billing_period, monthly_check_specs
from reporting_dagster.defs.resources import PlatformDatabase
from reporting_dagster.lib.rules import aging

CHECKS = {
    "every_invoice_has_organization": "Every outstanding client invoice resolves to an organization "
                                      "(through project, then contract).",
    "outstanding_invoices_have_due_dates": "Outstanding client invoices carry a due date (those without "
                                           "one are aged as Current).",
    boundary_checks.CHECK: boundary_checks.description("outstanding invoice", "project, contract, customer"),
}
_LISTED = ["invoice_id", "invoice_number", "customer_name", "project_name", "contract_name", "currency",
           "open_amount"]


@dg.asset(
    partitions_def=billing_period,
    group_name="receivables",
    kinds={"pandas"}, code_version=aging.RULES_VERSION,
    check_specs=monthly_check_specs("invoice_aging", CHECKS),
)
def invoice_aging(
    context: dg.AssetExecutionContext,
    platform_db: PlatformDatabase,
    receivable_invoices: pd.DataFrame,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Outstanding client invoices at the month's last day (the billing period's end): open
    balance, days overdue, bucket; bucket × currency and customer × currency summaries."""
    as_of = platform_db.billing_period(context.partition_key).end_date
    result = aging.age_receivables(receivable_invoices, as_of)
    yield dg.Output(result, metadata={
        "as_of_date": as_of.isoformat(),
        "outstanding_invoices": len(result.invoices),
        "receivables_considered": result.considered,
        "organizations": len(result.organization_ids()),
        "totals_by_organization": metadata.totals_by_organization(result, brief_totals, AGING_TOTALS),
    })
    yield from check_results(result)


AGING_TOTALS = {"invoices": "Invoices", "open_amount": "Open", "overdue_amount": "Overdue",
                **{label: label for label in aging.BUCKET_LABELS.values()}}


def brief_totals(result: aging.AgingResult) -> dict:
    """Per currency: invoices, open and overdue amounts, and the amount in each bucket (by its label)."""
    return {
        cur: {"invoices": t["invoices"], "open_amount": t["open_amount"], "overdue_amount": t["overdue_amount"],
              **{b["label"]: b["amount"] for b in t["buckets"].values()}}
        for cur, t in aging.totals_by_currency(result).items()
    }


def _listing(frame: pd.DataFrame) -> dg.MetadataValue:
    return metadata.table(frame, [c for c in _LISTED if c in frame.columns])


def check_results(result: aging.AgingResult) -> Iterator[dg.AssetCheckResult]:
    unresolved = result.unresolved
    yield dg.AssetCheckResult(
        check_name="every_invoice_has_organization", passed=unresolved.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"unresolved_invoices": len(unresolved), "invoices": _listing(unresolved)},
    )
    no_due = result.invoices[result.invoices["no_due_date"].astype(bool)]
    yield dg.AssetCheckResult(
        check_name="outstanding_invoices_have_due_dates", passed=no_due.empty, severity=dg.AssetCheckSeverity.WARN,
        metadata={"without_due_date": len(no_due), "invoices": _listing(no_due)},
    )
    yield boundary_checks.left_out_result(boundary_checks.CHECK, result.left_out)
