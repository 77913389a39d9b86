"""Receivables aging: invoices to clients still open at an as-of date, in age buckets.

Rules (issue #3 item 2, seed 002 §19.3.6):
- Outstanding = invoices to clients with status sent, disputed or paid, issued on or before the
  as-of date, whose open balance at the as-of date is above zero. Draft and verified invoices
  are never outstanding.
- open balance = total_amount − Σ payments with paid_date ≤ as-of. Payments after the as-of
  date are ignored and invoices issued after it excluded, so a month computed again later gives
  what it gave at the time (the extract sums payments up to the as-of date).
- A `paid` invoice with no payment rows at all counts as settled (balance 0): the platform marked
  it paid without recording when.
- days overdue = as-of − due_date, 0 for an invoice not yet due (noted "Not yet due", never a
  negative number of days). Buckets: Current (≤ 0), 1–30, 31–60, 61–90, 90+, edges inclusive
  (30 → 1–30, 31 → 31–60, 90 → 61–90, 91 → 90+). No due date → Current, flagged.
- Aging basis (`age_by`): by due date (the default: the bucket is the days overdue), or by invoice
  date (the bucket is the days since the invoice date, `age_days`; days overdue and the overdue
  amount stay due-date based). Same buckets and edges.
- A `paid` invoice still open at the as-of date is noted "Paid after the as-of date" when
  payments dated after it exist (that is why it is open), else "Marked paid, not fully paid".
- Amounts are Decimal and summed per currency only; never across currencies.
- An outstanding invoice whose project, contract or customer belongs to another organization
  than its own (lib/rules/boundaries.py) is set aside in `left_out`: in no file and no total,
  reported by the `references_within_organization` ERROR check and in its organization's file.

Input: one row per invoice as `sql/extracts/receivable_invoices.sql` gives it (see
`INPUT_COLUMNS`). Output: `AgingResult` with the outstanding invoices, the bucket × currency
summary and the customer × currency subtotals, all organizations (split with `for_organization`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from reporting_dagster.lib.rules.dates import plain_date
from reporting_dagster.lib.money import ZERO, dsum, is_missing, percent_of
from reporting_dagster.lib.rules import boundaries

# The rules' version: bump it when a rule changes what a month gives (the assets' code_version),
# so the UI shows which months were made with older rules.
RULES_VERSION = "3"  # no negative days overdue; notes for not yet due and paid after the as-of date

OUTSTANDING_STATUSES = ("sent", "disputed", "paid")
NO_CURRENCY = "—"
NO_CUSTOMER = "(no customer)"
NO_DUE_DATE_NOTE = "No due date"
NOT_YET_DUE_NOTE = "Not yet due"
PAID_AFTER_AS_OF_NOTE = "Paid after the as-of date"
MARKED_PAID_NOTE = "Marked paid, not fully paid"

# the aging basis (catalogue parameter `age_by`): which date the age, and so the bucket, counts from
DUE_DATE, INVOICE_DATE = "due_date", "invoice_date"
AGE_BASES = (DUE_DATE, INVOICE_DATE)

# (key, label, lowest days overdue, highest days overdue) — edges inclusive
BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("current", "Current", None, 0),
    ("1_30", "1-30 Days", 1, 30),
    ("31_60", "31-60 Days", 31, 60),
    ("61_90", "61-90 Days", 61, 90),
    ("90_plus", "90+ Days", 91, None),
)
BUCKET_KEYS = tuple(b[0] for b in BUCKETS)
BUCKET_LABELS = {b[0]: b[1] for b in BUCKETS}
BUCKET_ORDER = {b[0]: i for i, b in enumerate(BUCKETS)}

INPUT_COLUMNS = [
    "invoice_id", "organization_id", "invoice_number", "customer_id", "customer_name", "project_name",
    "contract_name", "currency", "issue_date", "due_date", "status", "total_amount", "paid_to_date",
    "payment_count",
]
INVOICE_OUTPUT = [
    "invoice_id", "organization_id", "invoice_number", "customer_id", "customer_name", "project_name",
    "contract_name", "currency", "issue_date", "due_date", "status", "total_amount", "paid_to_date",
    "open_amount", "days_overdue", "age_days", "bucket", "bucket_label", "no_due_date", "is_overdue", "note",
]
BUCKET_OUTPUT = ["organization_id", "currency", "bucket", "bucket_label", "invoice_count", "open_amount",
                 "share_percent"]
CUSTOMER_OUTPUT = [
    "organization_id", "customer_id", "customer_name", "currency", "invoice_count",
    *(f"amount_{k}" for k in BUCKET_KEYS), "open_amount", "overdue_amount", "oldest_days_overdue",
]


def bucket_for(days_overdue: int | None) -> str:
    """The bucket key for a number of days overdue (None: no due date → current)."""
    if days_overdue is None or days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1_30"
    if days_overdue <= 60:
        return "31_60"
    if days_overdue <= 90:
        return "61_90"
    return "90_plus"


@dataclass
class AgingResult:
    """The receivables of one as-of date, all organizations (or one, after `for_organization`).

    invoices: one row per outstanding invoice (INVOICE_OUTPUT), most overdue first per currency.
    buckets: one row per (organization, currency, bucket), all five buckets of every currency
        with an outstanding invoice, zero rows included (BUCKET_OUTPUT).
    customers: one row per (organization, customer, currency) with per-bucket amounts.
    organizations: organizations with data: an outstanding invoice, or a receivable issued in the
        as-of date's month (so a month that was fully paid still gets its "nothing open" report).
    unresolved: receivables whose organization cannot be resolved (for the asset check).
    """

    as_of: dt.date
    invoices: pd.DataFrame
    buckets: pd.DataFrame
    customers: pd.DataFrame
    organizations: list[int] = field(default_factory=list)
    unresolved: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INVOICE_OUTPUT))
    customer_id: int | None = None
    customer_name: str | None = None
    considered: int = 0  # receivable invoices looked at (issued by the as-of date, right status)
    # outstanding invoices of an organization that name another organization's reference
    left_out: pd.DataFrame = field(default_factory=lambda: boundaries.empty_left_out("invoice_id"))
    age_by: str = DUE_DATE

    @property
    def parameters(self) -> dict[str, str]:
        out = {"as_of_date": self.as_of.isoformat()}
        if self.age_by != DUE_DATE:
            out["age_by"] = self.age_by
        if self.customer_id is not None:
            out["customer_id"] = str(self.customer_id)
            if self.customer_name:
                out["customer_name"] = self.customer_name
        return out

    def for_organization(self, organization_id: int) -> "AgingResult":
        def pick(df: pd.DataFrame) -> pd.DataFrame:
            return df[df["organization_id"] == organization_id].reset_index(drop=True)

        return AgingResult(
            self.as_of, pick(self.invoices), pick(self.buckets), pick(self.customers),
            [o for o in self.organizations if o == organization_id], self.unresolved.iloc[0:0],
            self.customer_id, self.customer_name, self.considered,
            boundaries.of_organization(self.left_out, organization_id), self.age_by,
        )

    def organization_ids(self) -> list[int]:
        return list(self.organizations)


# ---------------------------------------------------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    return None if is_missing(value) else int(value)


def _mask(frame: pd.DataFrame, flags: list[bool]) -> pd.Series:
    """A boolean row mask (a bare list would select columns when empty)."""
    return pd.Series(flags, index=frame.index, dtype=bool)


def check_age_by(age_by: str | None) -> str:
    value = DUE_DATE if age_by is None else str(age_by).strip().lower()
    if value not in AGE_BASES:
        raise ValueError(f"age_by must be one of {', '.join(AGE_BASES)}, got {age_by!r}")
    return value


def _notes(no_due_date: bool, days: int | None, status: str, later_payments: bool) -> str:
    notes = [NO_DUE_DATE_NOTE] if no_due_date else []
    if days is not None and days < 0:
        notes.append(NOT_YET_DUE_NOTE)
    if status == "paid":
        notes.append(PAID_AFTER_AS_OF_NOTE if later_payments else MARKED_PAID_NOTE)
    return "; ".join(notes)


def age_receivables(invoices: pd.DataFrame, as_of: dt.date, customer_id: int | None = None,
                    age_by: str = DUE_DATE) -> AgingResult:
    """Age the receivables in `invoices` (one row per invoice) at `as_of`.

    `customer_id` keeps one customer's invoices only (on-demand requests filter by customer).
    `paid_to_date` must already hold the payments dated on or before `as_of` (the extract does
    this); `payment_count` is the number of payments ever recorded and `payments_to_date` (when
    given) those dated on or before `as_of`. `age_by`: due_date (default) or invoice_date.
    """
    age_by = check_age_by(age_by)
    missing = [c for c in INPUT_COLUMNS if c not in invoices.columns]
    if missing:
        raise ValueError(f"receivable invoices lack columns: {', '.join(missing)}")
    frame = invoices[INPUT_COLUMNS].copy()
    frame["_payments_to_date"] = (invoices["payments_to_date"] if "payments_to_date" in invoices
                                  else invoices["payment_count"])
    frame["_foreign"] = boundaries.foreign_references(invoices, "customer")
    frame["organization_id"] = frame["organization_id"].astype("Int64")
    frame["customer_id"] = frame["customer_id"].astype("Int64")
    frame["issue_date"] = [plain_date(v) for v in frame["issue_date"]]
    frame["due_date"] = [plain_date(v) for v in frame["due_date"]]

    customer_name = None
    if customer_id is not None:
        customer_id = int(customer_id)
        frame = frame[frame["customer_id"] == customer_id]
        # from rows that may be printed only: a customer of another organization is never named
        names = [n for n, foreign in zip(frame["customer_name"], frame["_foreign"]) if not is_missing(n) and not foreign]
        customer_name = str(names[0]) if names else None

    receivable = frame[
        frame["status"].isin(OUTSTANDING_STATUSES)
        & _mask(frame, [d is not None and d <= as_of for d in frame["issue_date"]])
    ].copy()
    receivable["total_amount"] = [None if is_missing(v) else Decimal(v) for v in receivable["total_amount"]]
    receivable["paid_to_date"] = [ZERO if is_missing(v) else Decimal(v) for v in receivable["paid_to_date"]]
    receivable["payment_count"] = receivable["payment_count"].fillna(0).astype(int)
    receivable["_payments_to_date"] = receivable["_payments_to_date"].fillna(0).astype(int)
    settled_without_payments = (receivable["status"] == "paid") & (receivable["payment_count"] == 0)
    receivable["open_amount"] = [
        None if total is None else (ZERO if settled else total - paid)
        for total, paid, settled in zip(receivable["total_amount"], receivable["paid_to_date"],
                                        settled_without_payments)
    ]
    outstanding = receivable[_mask(receivable, [v is not None and v > ZERO for v in receivable["open_amount"]])].copy()

    outstanding["currency"] = outstanding["currency"].fillna(NO_CURRENCY)
    outstanding["customer_name"] = outstanding["customer_name"].fillna(NO_CUSTOMER)
    days = [None if due is None else (as_of - due).days for due in outstanding["due_date"]]
    since_invoice = [(as_of - issued).days for issued in outstanding["issue_date"]]
    age = days if age_by == DUE_DATE else since_invoice
    outstanding["days_overdue"] = pd.array([None if d is None else max(d, 0) for d in days], dtype="Int64")
    outstanding["age_days"] = pd.array([None if d is None else max(d, 0) for d in age], dtype="Int64")
    outstanding["bucket"] = [bucket_for(d) for d in age]
    outstanding["bucket_label"] = outstanding["bucket"].map(BUCKET_LABELS)
    outstanding["no_due_date"] = [due is None for due in outstanding["due_date"]]
    outstanding["is_overdue"] = [d is not None and d > 0 for d in days]
    outstanding["note"] = [
        _notes(no_due, d, status, ever > to_date)
        for no_due, d, status, ever, to_date in zip(outstanding["no_due_date"], days, outstanding["status"],
                                                    outstanding["payment_count"], outstanding["_payments_to_date"])
    ]
    outstanding["_days_sort"] = [-10**9 if d is None else d for d in age]
    outstanding["_org_sort"] = outstanding["organization_id"].fillna(-1)
    outstanding = outstanding.sort_values(
        ["_org_sort", "currency", "_days_sort", "invoice_number", "invoice_id"],
        ascending=[True, True, False, True, True], na_position="last",
    )
    foreign = outstanding["_foreign"] != ""
    left_out = outstanding.loc[foreign, ["organization_id", "invoice_id", "_foreign"]].rename(
        columns={"_foreign": boundaries.REFERENCE_COLUMN}).reset_index(drop=True)
    outstanding = outstanding.loc[~foreign, INVOICE_OUTPUT].reset_index(drop=True)

    resolved = outstanding[outstanding["organization_id"].notna()].reset_index(drop=True)
    unresolved = outstanding[outstanding["organization_id"].isna()].reset_index(drop=True)

    month_start = as_of.replace(day=1)
    issued_this_month = receivable[_mask(receivable, [d is not None and d >= month_start for d in receivable["issue_date"]])]
    org_ids = set(resolved["organization_id"].dropna().astype(int)) | set(
        issued_this_month["organization_id"].dropna().astype(int)) | set(left_out["organization_id"].astype(int))

    return AgingResult(
        as_of=as_of,
        invoices=resolved,
        buckets=bucket_summary(resolved),
        customers=customer_summary(resolved),
        organizations=sorted(org_ids),
        unresolved=unresolved,
        customer_id=customer_id,
        customer_name=customer_name,
        considered=int(len(receivable)),
        left_out=left_out,
        age_by=age_by,
    )


def bucket_summary(outstanding: pd.DataFrame) -> pd.DataFrame:
    """Per organization, currency and bucket: invoice count, open amount and share of the
    currency's total (all five buckets for every currency present, zeros included)."""
    rows = []
    for (org, currency), group in outstanding.groupby(["organization_id", "currency"], sort=True):
        total = dsum(group["open_amount"])
        for key in BUCKET_KEYS:
            in_bucket = group[group["bucket"] == key]
            amount = dsum(in_bucket["open_amount"])
            rows.append({
                "organization_id": int(org), "currency": currency, "bucket": key, "bucket_label": BUCKET_LABELS[key],
                "invoice_count": int(len(in_bucket)), "open_amount": amount,
                "share_percent": percent_of(amount, total),
            })
    out = pd.DataFrame(rows, columns=BUCKET_OUTPUT)
    out["organization_id"] = out["organization_id"].astype("Int64")
    return out


def customer_summary(outstanding: pd.DataFrame) -> pd.DataFrame:
    """Per organization, customer and currency: count, open amount per bucket, total, overdue
    amount and the oldest days overdue; largest open amount first within a currency."""
    rows = []
    keys = [outstanding["organization_id"], outstanding["customer_id"].fillna(-1), outstanding["customer_name"],
            outstanding["currency"]]
    for (org, cust, name, currency), group in outstanding.groupby(keys, sort=True):
        row: dict[str, Any] = {
            "organization_id": int(org), "customer_id": None if cust == -1 else int(cust),
            "customer_name": name, "currency": currency, "invoice_count": int(len(group)),
        }
        for key in BUCKET_KEYS:
            row[f"amount_{key}"] = dsum(group.loc[group["bucket"] == key, "open_amount"])
        row["open_amount"] = dsum(group["open_amount"])
        row["overdue_amount"] = dsum(group.loc[group["is_overdue"], "open_amount"])
        days = [int(d) for d in group["days_overdue"] if not is_missing(d)]
        row["oldest_days_overdue"] = max(days) if days else None
        rows.append(row)
    out = pd.DataFrame(rows, columns=CUSTOMER_OUTPUT)
    if len(out):
        out["_neg"] = [-v for v in out["open_amount"]]
        out = out.sort_values(["organization_id", "currency", "_neg", "customer_name"]).drop(columns="_neg")
    out["organization_id"] = out["organization_id"].astype("Int64")
    out["customer_id"] = out["customer_id"].astype("Int64")
    out["oldest_days_overdue"] = out["oldest_days_overdue"].astype("Int64")
    return out.reset_index(drop=True)


def totals_by_currency(result_or_invoices: AgingResult | pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per currency: outstanding invoices, open amount, overdue amount, invoices without a due
    date, and per bucket {label, count, amount}. Never summed across currencies."""
    invoices = result_or_invoices.invoices if isinstance(result_or_invoices, AgingResult) else result_or_invoices
    out: dict[str, dict[str, Any]] = {}
    for currency, group in invoices.groupby("currency", sort=True):
        out[str(currency)] = {
            "invoices": int(len(group)),
            "open_amount": dsum(group["open_amount"]),
            "overdue_amount": dsum(group.loc[group["is_overdue"].astype(bool), "open_amount"]),
            "no_due_date": int(group["no_due_date"].astype(bool).sum()),
            "buckets": {
                key: {
                    "label": BUCKET_LABELS[key],
                    "count": int((group["bucket"] == key).sum()),
                    "amount": dsum(group.loc[group["bucket"] == key, "open_amount"]),
                }
                for key in BUCKET_KEYS
            },
        }
    return out
