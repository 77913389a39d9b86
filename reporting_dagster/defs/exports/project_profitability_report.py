"""`project_profitability_report`: every organization's profitability files for the month."""

import dagster as dg
import pandas as pd

from reporting_dagster.defs import metadata
from reporting_dagster.defs.exports.factory import FILES, export_asset
from reporting_dagster.defs.time.profitability import PROFITABILITY_TOTALS
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.rules.profitability import totals_by_currency
from reporting_dagster.lib.documents.reports import project_profitability as report


project_profitability_report = export_asset(
    report_type=report.DEFINITION.slug, source="project_profitability",
    builder=lambda result: lambda org_id, ctx: report.build_document(result.for_organization(org_id), ctx),
    metadata=lambda result: {
        "totals_by_organization": metadata.totals_by_organization(
            result, lambda part: totals_by_currency(part.rows), PROFITABILITY_TOTALS),
        "lowest_margins": dg.MetadataValue.md(_lowest_margins(result.rows)),
    },
    description=f"Project profitability: billable hours, revenue, cost and margin per project and currency{FILES}",
)


def _lowest_margins(rows: pd.DataFrame, n: int = 10) -> str:
    if rows.empty:
        return "no projects"
    margins = rows["margin"].tolist()
    top = rows.iloc[sorted(range(len(rows)), key=lambda i: margins[i])[:n]]  # Decimal order, lowest first
    return pd.DataFrame({
        "organization": top["organization_id"].astype(int),
        "project": top["project_name"],
        "currency": top["currency"],
        "revenue": [f"{half_up(v):,.2f}" for v in top["revenue"]],
        "cost": [f"{half_up(v):,.2f}" for v in top["cost"]],
        "margin": [f"{half_up(v):,.2f}" for v in top["margin"]],
        "margin_percent": ["" if p is None else f"{p} %" for p in top["margin_percent"]],
    }).pipe(lambda frame: metadata.markdown(frame.to_dict("records")))

