"""invoice_comparison: one organization's comparison as a ReportDocument."""

from __future__ import annotations

from reporting_dagster.lib.documents import catalog
from reporting_dagster.lib.rules import checks
from reporting_dagster.lib.rules.comparison import MATCHED, STATUSES, ComparisonResult, totals_by_currency
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.infra.platform_schema import (
    DIRECTION_LABELS,
    DIRECTION_TITLES,
    PAYABLE,
    RECEIVABLE,
    by_direction,
    direction_prefix,
)
from reporting_dagster.lib.render.document import Bar, Chart, ReportDocument, SummaryCard, TableData
from reporting_dagster.lib.documents.reports.common import ReportContext

DEFINITION = catalog.get("invoice_comparison")
STATUS_LABELS = {
    "matched": "Matched", "overbilled": "Overbilled", "underbilled": "Underbilled",
    "missing_received": "Not received", "missing_expected": "Not expected",
}


def build_document(result: ComparisonResult, ctx: ReportContext, parameters: dict[str, str]) -> ReportDocument:
    """Payable and receivable pairs in separately titled sections; totals and cards per direction.
    The period is a parameter like in every other report (the caller's own value wins)."""
    parameters = {"billing_period": ctx.period.key, **parameters}
    invoices = result.invoices.assign(_d=result.invoices["invoice_direction"].map({PAYABLE: 0, RECEIVABLE: 1}))
    invoices = invoices.sort_values(["_d", "currency", "contract_name", "pair_id"], na_position="last").drop(columns="_d")
    directions = by_direction(invoices)
    totals = {d: totals_by_currency(part) for d, part in directions}
    labelled = len(totals) > 1 or RECEIVABLE in totals
    summary = {
        "currencies": totals.get(PAYABLE, {}),
        **({"receivable_currencies": totals[RECEIVABLE]} if RECEIVABLE in totals else {}),
        "pairs": int(len(invoices)),
        "lines": int(len(result.lines)),
        "status_counts": {s: int((invoices["status"] == s).sum()) for s in STATUSES},
        "stored_disagreements": int(invoices["status_disagrees"].sum()) if len(invoices) else 0,
    }
    totals_rows = [
        {"contract_name": f"Total {direction_prefix(d, labelled)}{cur}", "currency": cur, "invoice_direction": d,
         "expected_amount": t["expected"], "received_amount": t["received"], "variance": t["variance"],
         "variance_percent": t["variance_percent"]}
        for d, per_currency in totals.items() for cur, t in per_currency.items()
    ]
    return ctx.document(
        DEFINITION,
        parameters=parameters,
        summary=summary,
        tables=[
            TableData(DEFINITION.table("invoices"), invoices.reset_index(drop=True), totals=totals_rows,
                      highlight="has_discrepancy", row_key="pair_id", section="invoice_direction",
                      section_titles=DIRECTION_TITLES),
            TableData(DEFINITION.table("lines"), result.lines, highlight="has_discrepancy",
                      group_key="pair_id", parent="invoices", section="invoice_direction",
                      section_titles=DIRECTION_TITLES,
                      context_columns=("contract_name", "received_invoice_numbers", "currency")),
        ],
        cards=[c for d, per_currency in totals.items() for c in _cards(per_currency, direction_prefix(d, labelled))],
        charts=[_variance_chart(invoices)] if len(invoices) else [],
        branding=ctx.branding,
        sections=ctx.sections,
        template="invoice_comparison.html",
        no_data=not result.organization_ids(),
    )



def _cards(totals: dict, prefix: str = "") -> list[SummaryCard]:
    cards = []
    for cur, t in totals.items():
        pct = t["variance_percent"]
        counts = [f"{STATUS_LABELS[s]}: {n}" for s, n in t["status_counts"].items() if n]
        cards.append(SummaryCard(
            title=f"{prefix}{cur} · {t['pairs']} invoice pairs",
            value=f"{cur} {_fmt(t['variance'])} variance" + (f" ({pct}%)" if pct is not None else ""),
            lines=(f"Expected {cur} {_fmt(t['expected'])}", f"Received {cur} {_fmt(t['received'])}", *counts),
            tone="good" if t["status_counts"][MATCHED] == t["pairs"] else "bad",
        ))
    return cards


def _fmt(value) -> str:
    return f"{half_up(value):,.2f}"


def _variance_chart(invoices) -> Chart:
    """Variance by contract (pairs with both sides), per currency; never summed across currencies."""
    both = invoices[invoices["variance"].notna()]
    bars = tuple(
        Bar(label=str(name or "(no contract)"), value=v,
            series=str(cur) if d == PAYABLE else f"{DIRECTION_LABELS[d]} {cur}")
        for name, v, cur, d in zip(both["contract_name"], both["variance"], both["currency"], both["invoice_direction"])
    )
    return Chart(title="Variance by contract (received − expected)", bars=bars, value_label="variance")


def build_checked_document(result: ComparisonResult, organization_id: int, ctx: ReportContext,
                           parameters: dict[str, str], found: checks.Findings | None = None) -> ReportDocument:
    """One organization's document from a comparison of every organization (pairs first, then the
    organization: a pair reaching into another tenant is found, not hidden), with the checks'
    findings that concern it. `found`: the findings of `result`, when the caller has them."""
    found = checks.findings(result.headers) if found is None else found
    doc = build_document(result.for_organization(organization_id), ctx, parameters)
    doc.check_errors = checks.blocking(found, organization_id)
    for warning in checks.warnings_for(found, organization_id):
        doc.add_warning(warning)
    return doc
