"""invoice_comparison: one organization's comparison as a ReportDocument."""

from __future__ import annotations

from reporting_dagster.lib.documents import catalog, labels
from reporting_dagster.lib.rules import checks
from reporting_dagster.lib.rules.comparison import MATCHED, STATUSES, ComparisonResult, totals_by_currency
from reporting_dagster.lib.money import half_up, is_missing
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
    totals_rows = [row for d, per_currency in totals.items() for cur, t in per_currency.items()
                   for row in _total_rows(cur, t, d, direction_prefix(d, labelled))]
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
        charts=[_variance_chart(invoices, totals)] if len(invoices) else [],
        branding=ctx.branding,
        sections=ctx.sections,
        template="invoice_comparison.html",
        no_data=not result.organization_ids(),
    )



def _total_rows(cur: str, t: dict, direction: str, prefix: str) -> list[dict]:
    """Under the table, per currency: one total when every pair has both sides; otherwise the
    paired pairs (with their variance and variance %), the not received and the not expected
    ones, then the column sums without a variance (received − expected over every row would
    count a missing invoice as variance)."""
    base = {"currency": cur, "invoice_direction": direction}
    paired, missing_r, missing_e = t["paired"], t["not_received"], t["not_expected"]
    if not missing_r["pairs"] and not missing_e["pairs"]:
        return [{**base, "contract_name": f"Total {prefix}{cur}", "expected_amount": t["expected"],
                 "received_amount": t["received"], "variance": t["variance"], "variance_percent": t["variance_percent"]}]
    rows = []
    if paired["pairs"]:
        rows.append({**base, "contract_name": f"Paired {prefix}{cur} ({paired['pairs']})",
                     "expected_amount": paired["expected"], "received_amount": paired["received"],
                     "variance": paired["variance"], "variance_percent": paired["variance_percent"]})
    if missing_r["pairs"]:
        rows.append({**base, "contract_name": f"Not received {prefix}{cur} ({missing_r['pairs']})",
                     "expected_amount": missing_r["expected"]})
    if missing_e["pairs"]:
        rows.append({**base, "contract_name": f"Not expected {prefix}{cur} ({missing_e['pairs']})",
                     "received_amount": missing_e["received"]})
    rows.append({**base, "contract_name": f"Total {prefix}{cur}", "expected_amount": t["expected"],
                 "received_amount": t["received"]})
    return rows


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cards(totals: dict, prefix: str = "") -> list[SummaryCard]:
    """Per currency: the variance on the pairs with both sides as the headline (variance % of
    their expected amount), then what was not received and not expected, each with its count and
    amount, never added to the variance."""
    cards = []
    for cur, t in totals.items():
        paired, missing_r, missing_e = t["paired"], t["not_received"], t["not_expected"]
        pct = paired["variance_percent"]
        counts = [f"{labels.COMPARISON_VERDICTS[s]}: {n}" for s, n in t["status_counts"].items()
                  if n and s in (MATCHED, "overbilled", "underbilled")]
        if paired["pairs"]:
            value = f"{cur} {_fmt(paired['variance'])}" + (f" ({pct}%)" if pct is not None else "")
            lines = [f"Expected {cur} {_fmt(paired['expected'])} · received {cur} {_fmt(paired['received'])}", *counts]
        else:  # nothing to take a variance of: say how many are waiting for their other side
            unpaired = missing_r["pairs"] + missing_e["pairs"]
            value, lines = f"{unpaired} unpaired", []
        lines.append(f"Not received ({missing_r['pairs']})"
                     + (f": expected {cur} {_fmt(missing_r['expected'])}" if missing_r["pairs"] else ""))
        lines.append(f"Not expected ({missing_e['pairs']})"
                     + (f": received {cur} {_fmt(missing_e['received'])}" if missing_e["pairs"] else ""))
        if t["stored_disagreements"]:
            lines.append(f"Stored status disagrees: {t['stored_disagreements']}")
        cards.append(SummaryCard(
            title=f"{prefix}{cur} · " + (f"variance on {_plural(paired['pairs'], 'invoice pair')}" if paired["pairs"]
                                        else "no paired invoices"),
            value=value,
            lines=tuple(lines),
            tone="good" if t["status_counts"][MATCHED] == t["pairs"] and not t["stored_disagreements"] else "bad",
        ))
    return cards


def _fmt(value) -> str:
    return f"{half_up(value):,.2f}"


def _series(direction: str, currency: str) -> str:
    return str(currency) if direction == PAYABLE else f"{DIRECTION_LABELS[direction]} {currency}"


def _variance_chart(invoices, totals: dict) -> Chart:
    """Variance by contract (pairs with both sides), one panel per currency in the cards' order;
    never summed across currencies. A contract named twice in one panel (two pairs: pooled apart,
    or two periods) says which invoices or period each bar is."""
    both = invoices[invoices["variance"].notna()]
    periods = both["billing_period"].nunique() > 1
    bars = []
    for d, per_currency in totals.items():
        for cur in per_currency:
            part = both[(both["invoice_direction"] == d) & (both["currency"].fillna("—") == cur)]
            names = [str(n) if not is_missing(n) else "(no contract)" for n in part["contract_name"]]
            repeated = {n for n in names if names.count(n) > 1}
            for name, v, numbers, period in zip(names, part["variance"], part["received_invoice_numbers"],
                                                part["billing_period"]):
                if name in repeated:
                    which = str(period) if periods and not is_missing(period) else str(numbers or "")
                    name = f"{name} · {which}" if which else name
                bars.append(Bar(label=name, value=v, series=_series(d, cur)))
    return Chart(title="Variance by contract (received − expected)", bars=tuple(bars), value_label="variance")


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
