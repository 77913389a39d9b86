"""Timesheet: hours grouped by member, by project and by date (seed 002 §19.3.5, issue #3 item 3).

Rules:
- Entries dated from `date_from` to `date_to`, both inclusive; optional project and member filters.
- Per group: total, billable and non-billable hours and the number of entries.
- Minutes stay integers for every sum; hours are derived from the summed minutes
  (`Decimal(minutes) / 60`, exact to 28 digits), so no rounding drift. Rounding (half-up to
  2 dp) happens at presentation only.
- A member without a name is shown by their e-mail.
- Order: members and projects by total hours descending, ties by name (case-insensitive, then
  exact, then id); dates ascending.
- Organization of an entry: the extract's `organization_id`, which is the project's organization
  (member's when the project has none) — see `sql/extracts/time_entries.sql`. An entry whose
  member belongs to another organization than its project is set aside in `left_out` (in no
  file and no total; lib/rules/boundaries.py), reported by the
  `member_and_project_same_organization` ERROR check and in its organization's file.

`timesheet()` handles every organization in the frame at once (each group key starts with
`organization_id`); `TimesheetResult.for_organization()` gives one organization's part.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from reporting_dagster.lib.money import half_up, percent_of
from reporting_dagster.lib.rules import boundaries

# The rules' version: bump it when a rule changes what a month gives (the assets' code_version),
# so the UI shows which months were made with older rules.
RULES_VERSION = "2"  # entries of a member of another organization than the project's left out

MEMBER, PROJECT, DATE, ALL = "member", "project", "date", "all"
GROUPINGS = (MEMBER, PROJECT, DATE)
DETAIL = "detail"  # member × project × date, only with group_by=all (the CSV of the monthly pack)
SIXTY = Decimal(60)

ENTRY_COLUMNS = [
    "entry_id", "organization_id", "member_organization_id", "member_id", "member_name", "member_email",
    "task_id", "task_name", "project_id", "project_name", "entry_date", "duration_minutes", "billable",
    "billing_rate_snapshot", "billing_rate_currency", "cost_rate_snapshot", "cost_rate_currency",
]
MINUTE_COLUMNS = ["total_minutes", "billable_minutes", "non_billable_minutes"]
HOUR_COLUMNS = ["total_hours", "billable_hours", "non_billable_hours"]
COUNT_COLUMNS = [*MINUTE_COLUMNS, "entry_count", *HOUR_COLUMNS]

GROUP_COLUMNS = {
    MEMBER: ["organization_id", "member_id", "member_name", "member_email", *COUNT_COLUMNS],
    PROJECT: ["organization_id", "project_id", "project_name", *COUNT_COLUMNS],
    DATE: ["organization_id", "entry_date", "weekday", *COUNT_COLUMNS],
    DETAIL: ["organization_id", "member_id", "member_name", "member_email", "project_id", "project_name",
             "entry_date", "weekday", *COUNT_COLUMNS],
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def hours(minutes: Any) -> Decimal:
    """Exact hours of a whole number of minutes (presentation rounds half-up to 2 dp)."""
    return Decimal(int(minutes)) / SIXTY


def to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def check_group_by(group_by: str) -> str:
    value = (group_by or MEMBER).strip().lower()
    if value not in (*GROUPINGS, ALL):
        raise ValueError(f"group_by must be one of {', '.join((*GROUPINGS, ALL))}, got {group_by!r}")
    return value


def member_label(name: Any, email: Any) -> str:
    """The member's name, or their e-mail when the name is missing or blank."""
    if isinstance(name, str) and name.strip():
        return name.strip()
    return "" if email is None or (isinstance(email, float) and email != email) else str(email)


def prepare(entries: pd.DataFrame) -> pd.DataFrame:
    """The extract with stable types: int minutes, bool billable, dates as datetime.date."""
    missing = [c for c in ENTRY_COLUMNS if c not in entries.columns and c not in (
        "member_organization_id", "task_id", "task_name", "billing_rate_snapshot", "billing_rate_currency",
        "cost_rate_snapshot", "cost_rate_currency")]
    if missing:
        raise ValueError(f"time entries lack columns: {', '.join(missing)}")
    e = entries.copy()
    for c in ENTRY_COLUMNS:
        if c not in e.columns:
            e[c] = None
    e["duration_minutes"] = e["duration_minutes"].astype("int64")
    e["billable"] = e["billable"].astype(bool)
    e["entry_date"] = [to_date(d) for d in e["entry_date"]]
    for c in ("organization_id", "member_id", "project_id"):
        e[c] = e[c].astype("int64")
    e["member_name"] = [member_label(n, m) for n, m in zip(e["member_name"], e["member_email"])]
    e["project_name"] = e["project_name"].fillna("").astype(str)
    return e


def select_entries(entries: pd.DataFrame, date_from: dt.date, date_to: dt.date,
                   project_id: int | None = None, member_id: int | None = None) -> pd.DataFrame:
    """Entries from date_from to date_to (both inclusive), optionally of one project / member."""
    e = prepare(entries)
    if date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}")
    keep = pd.Series([date_from <= d <= date_to for d in e["entry_date"]], index=e.index, dtype=bool)
    if project_id is not None:
        keep &= e["project_id"] == int(project_id)
    if member_id is not None:
        keep &= e["member_id"] == int(member_id)
    return e[keep].reset_index(drop=True)


def split_entries(e: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the entries to report, the entries left out: their member or project belongs to another
    organization than the entry's)."""
    return boundaries.split(e, "entry_id")


def _aggregate(e: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    work = e.assign(
        total_minutes=e["duration_minutes"],
        billable_minutes=e["duration_minutes"].where(e["billable"], 0),
        non_billable_minutes=e["duration_minutes"].where(~e["billable"], 0),
    )
    if work.empty:
        out = pd.DataFrame(columns=[*keys, *MINUTE_COLUMNS, "entry_count"])
    else:
        out = work.groupby(keys, sort=False).agg(
            total_minutes=("total_minutes", "sum"),
            billable_minutes=("billable_minutes", "sum"),
            non_billable_minutes=("non_billable_minutes", "sum"),
            entry_count=("entry_id", "count"),
        ).reset_index()
    for c in [*MINUTE_COLUMNS, "entry_count"]:
        out[c] = out[c].astype("int64")
    for m, h in zip(MINUTE_COLUMNS, HOUR_COLUMNS):
        out[h] = [hours(v) for v in out[m]]
    return out


def _names(e: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    return e[["organization_id", key, *columns]].drop_duplicates(["organization_id", key])


def _by_total_then_name(frame: pd.DataFrame, name: str, key: str) -> pd.DataFrame:
    order = frame.assign(_neg=-frame["total_minutes"], _fold=frame[name].str.casefold())
    order = order.sort_values(["organization_id", "_neg", "_fold", name, key], kind="mergesort")
    return order.drop(columns=["_neg", "_fold"]).reset_index(drop=True)


def by_member(e: pd.DataFrame) -> pd.DataFrame:
    out = _aggregate(e, ["organization_id", "member_id"])
    out = out.merge(_names(e, "member_id", ["member_name", "member_email"]), on=["organization_id", "member_id"],
                    how="left") if len(out) else out.assign(member_name=pd.Series(dtype=object),
                                                           member_email=pd.Series(dtype=object))
    return _by_total_then_name(out, "member_name", "member_id")[GROUP_COLUMNS[MEMBER]]


def by_project(e: pd.DataFrame) -> pd.DataFrame:
    out = _aggregate(e, ["organization_id", "project_id"])
    out = out.merge(_names(e, "project_id", ["project_name"]), on=["organization_id", "project_id"],
                    how="left") if len(out) else out.assign(project_name=pd.Series(dtype=object))
    return _by_total_then_name(out, "project_name", "project_id")[GROUP_COLUMNS[PROJECT]]


def by_date(e: pd.DataFrame) -> pd.DataFrame:
    out = _aggregate(e, ["organization_id", "entry_date"])
    out["weekday"] = [WEEKDAYS[d.weekday()] for d in out["entry_date"]]
    out = out.sort_values(["organization_id", "entry_date"], kind="mergesort").reset_index(drop=True)
    return out[GROUP_COLUMNS[DATE]]


def detail(e: pd.DataFrame) -> pd.DataFrame:
    """Member × project × date: the finest grouping; by member name, date, then project name."""
    out = _aggregate(e, ["organization_id", "member_id", "project_id", "entry_date"])
    if len(out):
        out = out.merge(_names(e, "member_id", ["member_name", "member_email"]),
                        on=["organization_id", "member_id"], how="left")
        out = out.merge(_names(e, "project_id", ["project_name"]), on=["organization_id", "project_id"], how="left")
    else:
        out = out.assign(member_name=pd.Series(dtype=object), member_email=pd.Series(dtype=object),
                         project_name=pd.Series(dtype=object))
    out["weekday"] = [WEEKDAYS[d.weekday()] for d in out["entry_date"]]
    out = out.assign(_member=out["member_name"].astype(str).str.casefold(),
                     _project=out["project_name"].astype(str).str.casefold())
    out = out.sort_values(["organization_id", "_member", "member_name", "member_id", "entry_date", "_project",
                           "project_id"], kind="mergesort")
    return out.drop(columns=["_member", "_project"]).reset_index(drop=True)[GROUP_COLUMNS[DETAIL]]


@dataclass
class TimesheetResult:
    """Grouped hours of one date range (all organizations unless split with for_organization)."""

    date_from: dt.date
    date_to: dt.date
    group_by: str  # member | project | date | all
    entries: pd.DataFrame  # the selected entries (prepared)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # grouping → rows
    project_id: int | None = None
    member_id: int | None = None
    left_out: pd.DataFrame = field(default_factory=lambda: boundaries.empty_left_out("entry_id"))

    @property
    def groupings(self) -> tuple[str, ...]:
        return GROUPINGS if self.group_by == ALL else (self.group_by,)

    def organization_ids(self) -> list[int]:
        return sorted(int(o) for o in self.entries["organization_id"].unique())

    def for_organization(self, organization_id: int) -> "TimesheetResult":
        def mine(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["organization_id"] == organization_id].reset_index(drop=True)

        return TimesheetResult(self.date_from, self.date_to, self.group_by, mine(self.entries),
                               {k: mine(v) for k, v in self.tables.items()}, self.project_id, self.member_id,
                               boundaries.of_organization(self.left_out, organization_id))

    @property
    def parameters(self) -> dict[str, str]:
        out = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
               "group_by": self.group_by}
        if self.project_id is not None:
            out["project_id"] = str(self.project_id)
        if self.member_id is not None:
            out["member_id"] = str(self.member_id)
        return out

    def summary(self) -> dict[str, Any]:
        """Totals over the selected entries (hours exact; JSON shows them half-up to 2 dp)."""
        return summarize(self.entries)


def summarize(e: pd.DataFrame) -> dict[str, Any]:
    total = int(e["duration_minutes"].sum()) if len(e) else 0
    billable = int(e.loc[e["billable"], "duration_minutes"].sum()) if len(e) else 0
    return {
        "total_hours": hours(total),
        "billable_hours": hours(billable),
        "non_billable_hours": hours(total - billable),
        "billable_percent": percent_of(Decimal(billable), Decimal(total)),
        "entry_count": int(len(e)),
        "members": int(e["member_id"].nunique()) if len(e) else 0,
        "projects": int(e["project_id"].nunique()) if len(e) else 0,
        "days": int(e["entry_date"].nunique()) if len(e) else 0,
        "total_minutes": total,
        "billable_minutes": billable,
    }


def timesheet(
    entries: pd.DataFrame,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str = MEMBER,
    project_id: int | None = None,
    member_id: int | None = None,
) -> TimesheetResult:
    """Hours of the entries from date_from to date_to (inclusive), grouped as asked.

    group_by: member | project | date, or all (the monthly pack: the three groupings plus the
    member × project × date detail).
    """
    group_by = check_group_by(group_by)
    date_from, date_to = to_date(date_from), to_date(date_to)
    e, left_out = split_entries(select_entries(entries, date_from, date_to, project_id, member_id))
    builders = {MEMBER: by_member, PROJECT: by_project, DATE: by_date}
    wanted = GROUPINGS if group_by == ALL else (group_by,)
    tables = {g: builders[g](e) for g in wanted}
    if group_by == ALL:
        tables[DETAIL] = detail(e)
    return TimesheetResult(date_from, date_to, group_by, e, tables,
                           int(project_id) if project_id is not None else None,
                           int(member_id) if member_id is not None else None, left_out)


def rounded(value: Any) -> Any:
    """A summary for people and metadata: every Decimal half-up to 2 dp (dicts and lists walked)."""
    if isinstance(value, Decimal):
        return half_up(value)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return value
