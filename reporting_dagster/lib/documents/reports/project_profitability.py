"""project_profitability: one organization's revenue, cost and margin per project and currency."""

from __future__ import annotations

from typing import Any

from reporting_dagster.lib.documents.catalog.project_profitability import DEFINITION
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.rules.profitability import ProfitabilityResult, totals_by_currency
from reporting_dagster.lib.render.document import Bar, Chart, ReportDocument, SummaryCard, TableData
from reporting_dagster.lib.documents.reports.common import ReportContext, with_left_out
from reporting_dagster.lib.rules.timesheet import hours, rounded


def build_document(result: ProfitabilityResult, ctx: ReportContext,
                   parameters: dict[str, str] | None = None) -> ReportDocument:
    """`result` holds one organization's rows (ProfitabilityResult.for_organization)."""
    rows = result.rows
    totals = totals_by_currency(rows)
    unpriced_minutes = int(result.unpriced["billable_minutes"].sum()) if len(result.unpriced) else 0
    summary: dict[str, Any] = {
        "date_from": result.date_from,
        "date_to": result.date_to,
        "currencies": totals,
        "projects": int(rows["project_id"].nunique()) if len(rows) else 0,
        "rows": int(len(rows)),
        "unpriced_billable_hours": hours(unpriced_minutes),
        "unpriced_projects": sorted({str(n) for n in result.unpriced["project_name"]}) if len(result.unpriced) else [],
    }
    totals_rows = [
        {"project_name": f"Total {cur}", "currency": cur, "billable_hours": t["billable_hours"],
         "revenue": t["revenue"], "cost": t["cost"], "margin": t["margin"], "margin_percent": t["margin_percent"]}
        for cur, t in totals.items()
    ]
    doc = ctx.document(
        DEFINITION,
        parameters=dict(parameters if parameters is not None else result.parameters),
        summary=rounded(summary),
        tables=[TableData(DEFINITION.table("projects"), rows, totals=totals_rows)],
        cards=_cards(totals, summary),
        charts=[_margin_chart(rows, list(totals))] if len(rows) else [],
        branding=ctx.branding,
        sections=ctx.sections,
        template="project_profitability.html",
        no_data=not result.organization_ids(),
    )
    return with_left_out(doc, result.left_out, "entry_id", "time entry")


def _fmt(value) -> str:
    return f"{half_up(value):,.2f}"


def _cards(totals: dict[str, dict[str, Any]], summary: dict[str, Any]) -> list[SummaryCard]:
    cards = []
    for cur, t in totals.items():
        pct = t["margin_percent"]
        n = t["projects"]
        cards.append(SummaryCard(
            title=f"{cur} · {n} project{'s' if n != 1 else ''}",
            value=f"{cur} {_fmt(t['margin'])} margin" + (f" ({pct}%)" if pct is not None else ""),
            lines=(f"Revenue {cur} {_fmt(t['revenue'])}", f"Cost {cur} {_fmt(t['cost'])}",
                   f"Billable hours {_fmt(t['billable_hours'])}"),
            tone="good" if t["margin"] >= 0 else "bad",
        ))
    if summary["unpriced_billable_hours"]:
        cards.append(SummaryCard(
            title="Billable hours without a billing rate",
            value=f"{_fmt(summary['unpriced_billable_hours'])} h",
            lines=("No revenue counted for these hours", *summary["unpriced_projects"][:3],
                   *(["…"] if len(summary["unpriced_projects"]) > 3 else [])),
            tone="bad",
        ))
    return cards


def _margin_chart(rows, currencies) -> Chart:
    """Margin per project, one panel per currency in the cards' order (never summed across currencies)."""
    bars = tuple(Bar(label=str(name), value=m, series=str(cur))
                 for currency in currencies
                 for name, m, cur in zip(rows["project_name"], rows["margin"], rows["currency"]) if str(cur) == currency)
    return Chart(title="Margin by project", bars=bars, value_label="margin")
