"""Project profitability per project and currency (seed 002 §19.3.7, issue #3 item 4).

Rules:
- Entries dated from `date_from` to `date_to` (both inclusive); optional project and customer
  filters (a customer keeps the projects linked to it in customer_project).
- revenue = Σ billing_rate_snapshot × minutes / 60 over BILLABLE entries that have a billing
  snapshot, in the snapshot's currency.
- cost = Σ cost_rate_snapshot × minutes / 60 over ALL entries (billable or not) that have a cost
  snapshot, in the snapshot's currency.
- One row per (project, currency): a project with entries in two currencies gives two rows; a
  cost in a currency without revenue gives its own row. Amounts of different currencies are
  never added.
- billable hours of a row = the hours that earn its revenue: billable entries whose billing
  snapshot is in the row's currency. Billable entries without a billing snapshot earn nothing;
  their hours are reported separately per project (`unpriced`), not hidden in a row.
- margin = revenue − cost; margin % = margin / revenue × 100 half-up to 2 dp, None when the
  revenue is 0.
- Exact arithmetic: Σ(rate × minutes) is summed exactly and divided by 60 once per row; rounding
  (half-up, cents) happens at presentation only.
- Customer names: every customer of the project (customer_project), sorted, joined by ", ".
- An entry whose member belongs to another organization than its project is left out
  (`left_out`; timesheet.split_entries): its hours, revenue and cost are in no file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from reporting_dagster.lib.money import ZERO, dsum, percent_of, to_decimal
from reporting_dagster.lib.rules import boundaries
from reporting_dagster.lib.rules.timesheet import SIXTY, hours, select_entries, split_entries, to_date

# The rules' version: bump it when a rule changes what a month gives (the assets' code_version),
# so the UI shows which months were made with older rules.
RULES_VERSION = "2"  # entries of a member of another organization than the project's left out

ROW_COLUMNS = [
    "organization_id", "project_id", "project_name", "customer_names", "currency",
    "billable_minutes", "billable_hours", "revenue", "cost", "margin", "margin_percent",
]
UNPRICED_COLUMNS = ["organization_id", "project_id", "project_name", "billable_minutes", "billable_hours"]
CUSTOMER_COLUMNS = ["project_id", "customer_id", "customer_name"]


def customer_names(customers: pd.DataFrame) -> pd.DataFrame:
    """project_id → "A, B" (every customer of the project, sorted case-insensitively)."""
    if customers is None or customers.empty:
        return pd.DataFrame({"project_id": pd.Series(dtype="int64"), "customer_names": pd.Series(dtype=object)})
    names: dict[int, set[str]] = {}
    for project, name in zip(customers["project_id"], customers["customer_name"]):
        if isinstance(name, str) and name.strip():
            names.setdefault(int(project), set()).add(name.strip())
    return pd.DataFrame({
        "project_id": pd.Series(list(names), dtype="int64"),
        "customer_names": [", ".join(sorted(v, key=lambda s: (s.casefold(), s))) for v in names.values()],
    })


def _amounts(e: pd.DataFrame, mask: pd.Series, rate: str, currency: str, name: str) -> pd.DataFrame:
    """Σ rate × minutes (exact) and Σ minutes per (organization, project, currency) of the masked entries."""
    part = e[mask & e[rate].notna()]
    keys = ["organization_id", "project_id", "currency"]
    if part.empty:
        return pd.DataFrame({"organization_id": pd.Series(dtype="int64"), "project_id": pd.Series(dtype="int64"),
                             "currency": pd.Series(dtype=object), f"{name}_x60": pd.Series(dtype=object), f"{name}_minutes": pd.Series(dtype="int64")})
    part = part.assign(
        currency=part[currency].astype(str).str.strip(),
        amount_x60=[to_decimal(r, rate) * int(m) for r, m in zip(part[rate], part["duration_minutes"])],
    )
    out = part.groupby(keys, sort=False).agg(
        amount_x60=("amount_x60", dsum), minutes=("duration_minutes", "sum")).reset_index()
    return out.rename(columns={"amount_x60": f"{name}_x60", "minutes": f"{name}_minutes"})


@dataclass
class ProfitabilityResult:
    """Rows per (organization, project, currency) of one date range, plus unpriced billable hours."""

    date_from: dt.date
    date_to: dt.date
    rows: pd.DataFrame
    unpriced: pd.DataFrame
    project_id: int | None = None
    customer_id: int | None = None
    left_out: pd.DataFrame = field(default_factory=lambda: boundaries.empty_left_out("entry_id"))

    def organization_ids(self) -> list[int]:
        ids = set(int(o) for o in self.rows["organization_id"].unique())
        ids |= set(int(o) for o in self.unpriced["organization_id"].unique())
        return sorted(ids)

    def for_organization(self, organization_id: int) -> "ProfitabilityResult":
        def mine(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["organization_id"] == organization_id].reset_index(drop=True)

        return ProfitabilityResult(self.date_from, self.date_to, mine(self.rows), mine(self.unpriced),
                                   self.project_id, self.customer_id,
                                   boundaries.of_organization(self.left_out, organization_id))

    @property
    def parameters(self) -> dict[str, str]:
        out = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.project_id is not None:
            out["project_id"] = str(self.project_id)
        if self.customer_id is not None:
            out["customer_id"] = str(self.customer_id)
        return out


def profitability(
    entries: pd.DataFrame,
    customers: pd.DataFrame | None,
    date_from: dt.date,
    date_to: dt.date,
    project_id: int | None = None,
    customer_id: int | None = None,
) -> ProfitabilityResult:
    date_from, date_to = to_date(date_from), to_date(date_to)
    e = select_entries(entries, date_from, date_to, project_id=project_id)
    customers = customers if customers is not None else pd.DataFrame(columns=CUSTOMER_COLUMNS)
    if customer_id is not None:
        linked = {int(p) for p, c in zip(customers["project_id"], customers["customer_id"]) if int(c) == int(customer_id)}
        e = e[e["project_id"].isin(linked)].reset_index(drop=True)
    e, left_out = split_entries(e)

    keys = ["organization_id", "project_id", "currency"]
    revenue = _amounts(e, e["billable"], "billing_rate_snapshot", "billing_rate_currency", "revenue")
    cost = _amounts(e, pd.Series(True, index=e.index), "cost_rate_snapshot", "cost_rate_currency", "cost")
    rows = revenue.merge(cost, on=keys, how="outer")
    rows["revenue"] = [v / SIXTY if isinstance(v, Decimal) else ZERO for v in rows["revenue_x60"]]
    rows["cost"] = [v / SIXTY if isinstance(v, Decimal) else ZERO for v in rows["cost_x60"]]
    rows["margin"] = [r - c for r, c in zip(rows["revenue"], rows["cost"])]
    rows["margin_percent"] = [percent_of(m, r) for m, r in zip(rows["margin"], rows["revenue"])]
    rows["billable_minutes"] = rows["revenue_minutes"].fillna(0).astype("int64")
    rows["billable_hours"] = [hours(m) for m in rows["billable_minutes"]]
    for k in ("organization_id", "project_id"):
        rows[k] = rows[k].astype("int64")

    names = e[["organization_id", "project_id", "project_name"]].drop_duplicates(["organization_id", "project_id"])
    rows = rows.merge(names, on=["organization_id", "project_id"], how="left")
    rows = rows.merge(customer_names(customers), on="project_id", how="left")
    rows["customer_names"] = rows["customer_names"].astype(object).where(rows["customer_names"].notna(), None)
    rows = rows.assign(_fold=rows["project_name"].astype(str).str.casefold())
    rows = rows.sort_values(["organization_id", "_fold", "project_id", "currency"], kind="mergesort")
    rows = rows.reset_index(drop=True)[ROW_COLUMNS]

    unpriced_entries = e[e["billable"] & e["billing_rate_snapshot"].isna()]
    if unpriced_entries.empty:
        unpriced = pd.DataFrame({c: pd.Series(dtype=object) for c in UNPRICED_COLUMNS})
    else:
        unpriced = unpriced_entries.groupby(["organization_id", "project_id", "project_name"], sort=True).agg(
            billable_minutes=("duration_minutes", "sum")).reset_index()
        unpriced["billable_hours"] = [hours(m) for m in unpriced["billable_minutes"]]
        unpriced = unpriced[UNPRICED_COLUMNS]
    return ProfitabilityResult(date_from, date_to, rows, unpriced,
                               int(project_id) if project_id is not None else None,
                               int(customer_id) if customer_id is not None else None, left_out)


def totals_by_currency(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per currency: projects, billable hours, revenue, cost, margin and margin % (never across currencies)."""
    out: dict[str, dict[str, Any]] = {}
    for currency in sorted(rows["currency"].unique()) if len(rows) else []:
        part = rows[rows["currency"] == currency]
        revenue, cost = dsum(part["revenue"]), dsum(part["cost"])
        margin = revenue - cost
        out[str(currency)] = {
            "projects": int(part["project_id"].nunique()),
            "billable_hours": hours(int(part["billable_minutes"].sum())),
            "revenue": revenue,
            "cost": cost,
            "margin": margin,
            "margin_percent": percent_of(margin, revenue),
        }
    return out
