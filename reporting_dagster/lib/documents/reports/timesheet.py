"""timesheet: one organization's grouped hours as a ReportDocument.

The monthly pack (group_by=all) holds the three groupings (one section / sheet each) and the
member × project × date detail, nested under each member (JSON) and shown per member (PDF/HTML,
switched by the template's include_line_items) with a subtotal row after each member's lines;
the CSV holds the detail, one row per line (so do JSON and the XLSX detail sheet, whose
per-member sums are the "Hours by team member" sheet). A request for one
grouping holds that grouping only, and its CSV holds it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from reporting_dagster.lib.documents.catalog.timesheet import DEFINITION
from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.render.document import Bar, Chart, ReportDocument, SummaryCard, TableData
from reporting_dagster.lib.documents.reports.common import ReportContext, with_left_out
from reporting_dagster.lib.rules.timesheet import ALL, DATE, DETAIL, MEMBER, PROJECT, TimesheetResult, rounded

TABLE_KEYS = {MEMBER: "by_member", PROJECT: "by_project", DATE: "by_date", DETAIL: "detail"}
LABEL_COLUMN = {MEMBER: "member_name", PROJECT: "project_name", DATE: "entry_date", DETAIL: "member_name"}


def _totals(label_column: str, summary: dict[str, Any]) -> list[dict[str, Any]]:
    if not summary["entry_count"]:
        return []
    return [{label_column: "Total", "total_hours": summary["total_hours"],
             "billable_hours": summary["billable_hours"], "non_billable_hours": summary["non_billable_hours"],
             "entry_count": summary["entry_count"]}]


SUBTOTAL_LABEL = "Member subtotal"


def _member_subtotals(by_member: pd.DataFrame) -> dict[Any, dict[str, Any]]:
    """Per member: the subtotal row under their detail lines in PDF/HTML (hours and entries of
    the by-member grouping, the same exact sums); CSV, JSON and XLSX keep one row per line."""
    return {
        int(member): {"project_name": SUBTOTAL_LABEL, "total_hours": total, "billable_hours": billable,
                      "non_billable_hours": non_billable, "entry_count": int(count)}
        for member, total, billable, non_billable, count in zip(
            by_member["member_id"], by_member["total_hours"], by_member["billable_hours"],
            by_member["non_billable_hours"], by_member["entry_count"])
    }


def build_document(result: TimesheetResult, ctx: ReportContext,
                   parameters: dict[str, str] | None = None) -> ReportDocument:
    """`result` holds one organization's entries (TimesheetResult.for_organization)."""
    summary = result.summary()
    tables: list[TableData] = []
    for grouping in result.groupings:
        tables.append(TableData(
            DEFINITION.table(TABLE_KEYS[grouping]), result.tables[grouping],
            totals=_totals(LABEL_COLUMN[grouping], summary),
            row_key="member_id" if grouping == MEMBER and result.group_by == ALL else None,
        ))
    if result.group_by == ALL:
        definition = DEFINITION
        # under the detail, PDF/HTML hide the member column (the group headings name the member):
        # the grand total also says what it is in the project column
        detail_totals = [{**t, "project_name": "All members"} for t in _totals("member_name", summary)]
        tables.append(TableData(
            DEFINITION.table("detail"), result.tables[DETAIL], totals=detail_totals,
            group_key="member_id", parent="by_member", context_columns=("member_name",),
            group_totals=_member_subtotals(result.tables[MEMBER]),
        ))
    else:  # one grouping: its table is the CSV's
        definition = dataclasses.replace(DEFINITION, csv_table=TABLE_KEYS[result.group_by])
    params = dict(parameters if parameters is not None else result.parameters)
    doc = ctx.document(
        definition,
        parameters=params,
        summary=rounded(_json_summary(summary, result)),
        tables=tables,
        cards=_cards(summary),
        charts=_charts(result),
        branding=ctx.branding,
        sections=ctx.sections,
        template="timesheet.html",
        no_data=not result.organization_ids(),
    )
    return with_left_out(doc, result.left_out, "entry_id", "time entry")


def _json_summary(summary: dict[str, Any], result: TimesheetResult) -> dict[str, Any]:
    return {
        "date_from": result.date_from,
        "date_to": result.date_to,
        "group_by": result.group_by,
        "total_hours": summary["total_hours"],
        "billable_hours": summary["billable_hours"],
        "non_billable_hours": summary["non_billable_hours"],
        "billable_percent": summary["billable_percent"],
        "entry_count": summary["entry_count"],
        "members": summary["members"],
        "projects": summary["projects"],
        "days": summary["days"],
    }


def _h(value) -> str:
    return f"{half_up(value):,.2f}"


def _cards(s: dict[str, Any]) -> list[SummaryCard]:
    pct = s["billable_percent"]
    return [
        SummaryCard("Total Hours", _h(s["total_hours"]),
                    (f"{s['members']} member{'s' if s['members'] != 1 else ''}",
                     f"{s['projects']} project{'s' if s['projects'] != 1 else ''}")),
        SummaryCard("Billable Hours", _h(s["billable_hours"]),
                    (f"{pct}% of total",) if pct is not None else (), tone="good" if s["billable_hours"] else "neutral"),
        SummaryCard("Non-Billable Hours", _h(s["non_billable_hours"])),
        SummaryCard("Entries", str(s["entry_count"]), (f"on {s['days']} day{'s' if s['days'] != 1 else ''}",)),
    ]


def _charts(result: TimesheetResult) -> list[Chart]:
    if result.group_by == DATE or result.entries.empty:
        return []
    grouping = PROJECT if PROJECT in result.tables else MEMBER
    frame: pd.DataFrame = result.tables[grouping]
    label = LABEL_COLUMN[grouping]
    bars = tuple(Bar(label=str(name), value=h) for name, h in zip(frame[label], frame["total_hours"]))
    what = "project" if grouping == PROJECT else "team member"
    return [Chart(title=f"Total hours by {what}", bars=bars, value_label="hours")]
