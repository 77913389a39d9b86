"""invoice_to_client, invoice_expected, invoice_received: one organization's listing as a ReportDocument.

The three share one layout: summary cards per currency, a chart of the amount per line type
(per currency), the invoices with a totals row per currency (mismatched header totals
highlighted) and their lines grouped under each invoice (the CSV holds the lines, each with its
invoice context). A listing with no invoices gives a valid "no data" document.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reporting_dagster.lib.rules import listings as lst
from reporting_dagster.lib.documents import labels
from reporting_dagster.lib.documents.catalog import ReportDefinition
from reporting_dagster.lib.documents.catalog import invoice_expected, invoice_received, invoice_to_client
from reporting_dagster.lib.money import dsum
from reporting_dagster.lib.infra.platform_schema import DIRECTION_TITLES, PAYABLE, RECEIVABLE, by_direction, direction_prefix
from reporting_dagster.lib.render.document import Bar, Chart, ReportDocument, SummaryCard, TableData
from reporting_dagster.lib.render.values import display_money
from reporting_dagster.lib.documents.reports.common import ReportContext, with_left_out

DEFINITIONS: dict[str, ReportDefinition] = {
    lst.CLIENT: invoice_to_client.DEFINITION,
    lst.EXPECTED: invoice_expected.DEFINITION,
    lst.RECEIVED: invoice_received.DEFINITION,
}
TEMPLATES = {rt: f"{rt}.html" for rt in lst.REPORT_TYPES}
LINE_CONTEXT = {
    lst.CLIENT: ("header_id", "invoice_number", "counterparty_name", "contract_name", "project_name", "currency"),
    lst.EXPECTED: ("header_id", "contract_name", "project_name", "counterparty_name", "currency"),
    lst.RECEIVED: ("header_id", "invoice_number", "counterparty_name", "contract_name", "project_name", "currency"),
}
NOUN = {lst.CLIENT: "invoice", lst.EXPECTED: "expected invoice", lst.RECEIVED: "received invoice"}


def build_document(listing: lst.Listing, ctx: ReportContext) -> ReportDocument:
    """One organization's listing (already filtered to it) for the period in `ctx`."""
    report_type = listing.report_type
    definition = DEFINITIONS[report_type]
    invoices, lines = listing.invoices, listing.lines
    # contractor listings: payable and receivable invoices are totalled (and shown) apart
    directed = report_type != lst.CLIENT
    parts = by_direction(invoices) if directed else [(PAYABLE, invoices)]
    per_direction = {d: lst.totals_by_currency(part, lines[lines["header_id"].isin(part["header_id"])])
                     for d, part in parts} or {PAYABLE: {}}
    labelled = directed and (len(per_direction) > 1 or RECEIVABLE in per_direction)
    totals = per_direction.get(PAYABLE, {})
    # per direction too: a receivable energy line is not added to a contractor's fee of the same type
    types = {d: lst.totals_by_line_type(_of(lines, d, directed)) for d in per_direction}
    by_type = types.get(PAYABLE, {})
    summary: dict[str, Any] = {
        "currencies": totals,
        **({"receivable_currencies": per_direction[RECEIVABLE]} if RECEIVABLE in per_direction else {}),
        "invoices": int(len(invoices)),
        "lines": int(len(lines)),
        "mismatched_invoices": int(invoices["total_mismatch"].sum()) if len(invoices) else 0,
        "by_line_type": by_type,
        **({"receivable_by_line_type": types[RECEIVABLE]} if RECEIVABLE in types else {}),
    }
    if report_type != lst.EXPECTED:
        summary["status_counts"] = lst.status_counts(invoices)
    metered: dict[str, str] = {}
    if report_type == lst.CLIENT:
        metered = {unit: format(qty, "f") for unit, qty in lst.metered_by_unit(lines).items()}
        summary["metered"] = metered  # exact quantities per unit (not money: not rounded)

    parameters = {"billing_period": ctx.period.key, **listing.parameters}
    doc = ctx.document(
        definition,
        parameters=parameters,
        summary=summary,
        tables=[
            TableData(definition.table("invoices"), invoices,
                      totals=[row for d, t in per_direction.items()
                              for row in _invoice_totals(definition, _of(invoices, d, directed), t, direction_prefix(d, labelled), d)],
                      highlight="total_mismatch", row_key="header_id",
                      section="invoice_direction" if directed else None, section_titles=DIRECTION_TITLES),
            TableData(definition.table("lines"), lines,
                      totals=[row for d in per_direction for row in _line_totals(_of(lines, d, directed), direction_prefix(d, labelled), d)],
                      group_key="header_id", parent="invoices", context_columns=LINE_CONTEXT[report_type],
                      section="invoice_direction" if directed else None, section_titles=DIRECTION_TITLES),
        ],
        cards=[c for d, t in per_direction.items()
               for c in _cards(report_type, _of(invoices, d, directed), t, metered if d == PAYABLE else {},
                               direction_prefix(d, labelled))],
        charts=[_line_type_chart({f"{direction_prefix(d, labelled)}{cur}": t for d, per in types.items()
                                  for cur, t in per.items()})] if len(lines) else [],
        branding=ctx.branding,
        sections=ctx.sections,
        template=TEMPLATES[report_type],
        no_data=not listing.organization_ids(),
    )
    return with_left_out(doc, listing.left_out, "header_id", NOUN[report_type])


def _of(frame, direction: str, directed: bool):
    return frame[frame["invoice_direction"] == direction] if directed and len(frame) else frame



def _invoice_totals(definition: ReportDefinition, invoices, totals: dict, prefix: str = "",
                    direction: str = PAYABLE) -> list[dict[str, Any]]:
    label_key = definition.table("invoices").columns[0].key
    rows = []
    for cur, t in totals.items():
        group = invoices[invoices["currency"].fillna(lst.NO_CURRENCY) == cur]
        differences = [d for d in group["difference"] if d is not None]
        n = t["invoices"]
        rows.append({
            label_key: f"Total {prefix}{cur} ({n} invoice{'' if n == 1 else 's'})",
            "currency": cur,
            "invoice_direction": direction,
            "amount": t["amount"],
            "lines_total": t["lines_total"],
            "difference": dsum(differences) if differences else None,
        })
    return rows


def _line_totals(lines, prefix: str = "", direction: str = PAYABLE) -> list[dict[str, Any]]:
    if lines.empty:
        return []
    rows = []
    for cur, group in lines.groupby(lines["currency"].fillna(lst.NO_CURRENCY), sort=True):
        rows.append({"line_type": f"Total {prefix}{cur}", "currency": cur, "invoice_direction": direction,
                     "line_total": dsum(group["line_total"])})
    return rows


def _fmt(value) -> str:
    return display_money(value)


def _cards(report_type: str, invoices, totals: dict, metered: dict[str, str], prefix: str = "") -> list[SummaryCard]:
    noun = NOUN[report_type]
    cards: list[SummaryCard] = []  # no invoices: no cards; the document's "no data" note says it
    for cur, t in totals.items():
        n = t["invoices"]
        group = invoices[invoices["currency"].fillna(lst.NO_CURRENCY) == cur]
        detail = [f"{t['lines']} line{'' if t['lines'] == 1 else 's'}, sum {cur} {_fmt(t['lines_total'])}"]
        if t["credits"]:
            detail.append(f"Credits {cur} {_fmt(t['credits'])}")
        if report_type != lst.EXPECTED:
            counts = lst.status_counts(group)
            detail.append(" · ".join(f"{labels.INVOICE_STATUSES.get(s, s)} {c}" for s, c in counts.items() if c))
        if t["mismatched_invoices"]:
            m = t["mismatched_invoices"]
            detail.append(f"{m} invoice{'' if m == 1 else 's'}: total ≠ sum of lines")
        cards.append(SummaryCard(
            title=f"{prefix}{cur} · {n} {noun}{'' if n == 1 else 's'}",
            value=f"{cur} {_fmt(t['amount'])}",
            lines=tuple(detail),
            tone="bad" if t["mismatched_invoices"] else "neutral",
        ))
    for unit, qty in metered.items():
        cards.append(SummaryCard(title="Metered quantity", value=f"{_quantity(qty)} {unit}".strip(),
                                 lines=("From the meter aggregates of the energy lines",)))
    return cards


def _quantity(text: str) -> str:
    return format(Decimal(text), ",f")


def _line_type_chart(by_type: dict[str, dict]) -> Chart:
    """Amount per line type, one panel per currency (credits extend left); never summed across currencies."""
    bars = tuple(Bar(label=kind, value=value, series=cur)
                 for cur, per_type in by_type.items() for kind, value in per_type.items())
    return Chart(title="Amount by line type", bars=bars, value_label="amount")
