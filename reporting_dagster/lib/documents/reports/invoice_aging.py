"""invoice_aging: one organization's receivables aging as a ReportDocument."""

from __future__ import annotations

from reporting_dagster.lib.rules.aging import BUCKET_KEYS, BUCKET_LABELS, AgingResult, totals_by_currency
from reporting_dagster.lib.documents.catalog.invoice_aging import DEFINITION, invoices_table
from reporting_dagster.lib.money import dsum, half_up
from reporting_dagster.lib.render.document import Bar, Chart, ReportDocument, SummaryCard, TableData
from reporting_dagster.lib.documents.reports.common import ReportContext, with_left_out

__all__ = ["DEFINITION", "build_document"]


def build_document(result: AgingResult, ctx: ReportContext) -> ReportDocument:
    """The aging of `result` (already narrowed to ctx's organization). Empty → a "no data" report."""
    invoices = result.invoices.copy()
    invoices["seriously_overdue"] = invoices["bucket"] == "90_plus"
    totals = totals_by_currency(invoices)
    summary = {
        "as_of_date": result.as_of,
        "outstanding_invoices": int(len(invoices)),
        "customers": int(result.customers["customer_name"].nunique()) if len(result.customers) else 0,
        "no_due_date": int(invoices["no_due_date"].astype(bool).sum()) if len(invoices) else 0,
        "currencies": totals,
        "age_by": result.age_by,
    }
    doc = ctx.document(
        DEFINITION,
        parameters=result.parameters,
        summary=summary,
        tables=[
            TableData(invoices_table(result.age_by), invoices.reset_index(drop=True),
                      totals=_invoice_totals(invoices), highlight="seriously_overdue"),
            TableData(DEFINITION.table("buckets"), result.buckets.reset_index(drop=True),
                      totals=_bucket_totals(result.buckets)),
            TableData(DEFINITION.table("customers"), result.customers.reset_index(drop=True),
                      totals=_customer_totals(result.customers)),
        ],
        cards=_cards(totals, result),
        charts=[_bucket_chart(totals)] if totals else [],
        branding=ctx.branding,
        sections=ctx.sections,
        template="invoice_aging.html",
        no_data=not result.organization_ids(),
    )
    return with_left_out(doc, result.left_out, "invoice_id", "invoice")


def _invoice_totals(invoices) -> list[dict]:
    rows = []
    for currency, group in invoices.groupby("currency", sort=True):
        rows.append({"invoice_number": f"Total {currency}", "currency": currency,
                     "total_amount": dsum(group["total_amount"]), "paid_to_date": dsum(group["paid_to_date"]),
                     "open_amount": dsum(group["open_amount"])})
    return rows


def _bucket_totals(buckets) -> list[dict]:
    rows = []
    for currency, group in buckets.groupby("currency", sort=True):
        rows.append({"currency": currency, "bucket_label": "Total outstanding",
                     "invoice_count": int(group["invoice_count"].sum()), "open_amount": dsum(group["open_amount"])})
    return rows


def _customer_totals(customers) -> list[dict]:
    rows = []
    for currency, group in customers.groupby("currency", sort=True):
        row = {"customer_name": f"Total {currency}", "currency": currency,
               "invoice_count": int(group["invoice_count"].sum()), "open_amount": dsum(group["open_amount"])}
        for key in BUCKET_KEYS:
            row[f"amount_{key}"] = dsum(group[f"amount_{key}"])
        rows.append(row)
    return rows


def _fmt(value) -> str:
    return f"{half_up(value):,.2f}"


def _count(n: int) -> str:
    return f"{n} invoice" + ("" if n == 1 else "s")


def _cards(totals: dict, result: AgingResult) -> list[SummaryCard]:
    """Per currency: the total outstanding, then one card per bucket (the seed's bucket strip)."""
    if not totals:
        who = f" for {result.customer_name}" if result.customer_name else ""
        return [SummaryCard(title="Total outstanding", value="Nothing outstanding",
                            lines=(f"No open invoices{who} as of {result.as_of.isoformat()}",), tone="good")]
    cards = []
    for cur, t in totals.items():
        lines = [_count(t["invoices"]), f"Overdue {_fmt(t['overdue_amount'])}"]
        if t["no_due_date"]:
            lines.append(f"{t['no_due_date']} without due date")
        cards.append(SummaryCard(
            title=f"{cur} · Total outstanding", value=_fmt(t["open_amount"]), lines=tuple(lines),
            tone="bad" if t["overdue_amount"] > 0 else "good",
        ))
        for key in BUCKET_KEYS:
            b = t["buckets"][key]
            tone = "neutral" if key == "current" or not b["count"] else "bad"
            cards.append(SummaryCard(title=f"{cur} · {b['label']}", value=_fmt(b["amount"]),
                                     lines=(_count(b["count"]),), tone=tone))
    return cards


def _bucket_chart(totals: dict) -> Chart:
    """Open amount per bucket, one series per currency (each with its own scale, never summed)."""
    bars = tuple(
        Bar(label=BUCKET_LABELS[key], value=t["buckets"][key]["amount"], series=cur)
        for cur, t in totals.items() for key in BUCKET_KEYS
    )
    return Chart(title="Open amount by age bucket", bars=bars, value_label="open amount")
