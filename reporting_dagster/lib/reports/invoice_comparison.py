"""invoice_comparison: one organization's comparison as a ReportDocument."""

from __future__ import annotations

from reporting_dagster.lib import catalog
from reporting_dagster.lib.comparison import MATCHED, STATUSES, ComparisonResult, totals_by_currency
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.render.document import Bar, Chart, ReportDocument, SummaryCard, TableData
from reporting_dagster.lib.reports.common import ReportContext

DEFINITION = catalog.get("invoice_comparison")
STATUS_LABELS = {
    "matched": "Matched", "overbilled": "Overbilled", "underbilled": "Underbilled",
    "missing_received": "Not received", "missing_expected": "Not expected",
}


def build_document(result: ComparisonResult, ctx: ReportContext, parameters: dict[str, str]) -> ReportDocument:
    invoices = result.invoices.sort_values(["currency", "contract_name", "pair_id"], na_position="last")
    totals = totals_by_currency(invoices)
    summary = {
        "currencies": totals,
        "pairs": int(len(invoices)),
        "lines": int(len(result.lines)),
        "status_counts": {s: int((invoices["status"] == s).sum()) for s in STATUSES},
        "stored_disagreements": int(invoices["status_disagrees"].sum()) if len(invoices) else 0,
    }
    totals_rows = [
        {"contract_name": f"Total {cur}", "currency": cur, "expected_amount": t["expected"],
         "received_amount": t["received"], "variance": t["variance"], "variance_percent": t["variance_percent"]}
        for cur, t in totals.items()
    ]
    return ReportDocument(
        definition=DEFINITION,
        organization_id=ctx.organization_id,
        organization_name=ctx.organization_name,
        period_key=ctx.period.key,
        period_label=ctx.period.name,
        period_start=ctx.period.start_date,
        period_end=ctx.period.end_date,
        generated_at=ctx.generated_at,
        parameters=parameters,
        summary=summary,
        tables=[
            TableData(DEFINITION.table("invoices"), invoices.reset_index(drop=True), totals=totals_rows,
                      highlight="has_discrepancy", row_key="pair_id"),
            TableData(DEFINITION.table("lines"), result.lines, highlight="has_discrepancy",
                      group_key="pair_id", parent="invoices",
                      context_columns=("contract_name", "received_invoice_numbers", "currency")),
        ],
        cards=_cards(totals),
        charts=[_variance_chart(invoices)] if len(invoices) else [],
        branding=ctx.branding,
        sections=ctx.sections,
        template="invoice_comparison.html",
        no_data=not result.organization_ids(),
    )


def _cards(totals: dict) -> list[SummaryCard]:
    cards = []
    for cur, t in totals.items():
        pct = t["variance_percent"]
        counts = [f"{STATUS_LABELS[s]}: {n}" for s, n in t["status_counts"].items() if n]
        cards.append(SummaryCard(
            title=f"{cur} · {t['pairs']} invoice pairs",
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
        Bar(label=str(name or "(no contract)"), value=v, series=str(cur))
        for name, v, cur in zip(both["contract_name"], both["variance"], both["currency"])
    )
    return Chart(title="Variance by contract (received − expected)", bars=bars, value_label="variance")
