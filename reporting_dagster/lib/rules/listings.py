"""The three plain invoice listings (seed 000 §4–5): invoice_to_client, invoice_expected, invoice_received.

One per-line extract in (one row per invoice line with its header's columns repeated; a header
without lines is one row with NULL line columns), a `Listing` out:

- `invoices`: one row per header. `amount` is the header's total_amount (the invoice amount;
  the sum of its lines when the header has no total); `lines_total` the exact sum of its lines;
  `total_mismatch` is True when a header with lines has a total that is not that sum, and
  `difference` = amount − lines_total on those rows only.
- `lines`: one row per line, with the header context a flat file needs (invoice number, parties,
  currency). Negative lines (LD credits) keep their sign: a credit is a negative unit price and
  a negative line total, never altered.
- Totals are per currency, never across currencies (`totals_by_currency`).

Per type: client invoices carry invoice number, dates, status and, on metered lines, the
meter_aggregate's quantity (total_production) and unit; received invoices carry the vendor's
number, invoice and due dates, status and the received date (created_at, as a UTC date);
expected invoices have none of these.

The organization is resolved in SQL (project, then contract). A header whose organization is
unknown belongs to no organization's listing; `unresolved_invoices` lists it for the asset check.
A header whose contract, project or counterparty belongs to another organization than its own
(lib/rules/boundaries.py) is set aside in `left_out` with its lines: in no file, reported by the
`references_within_organization` ERROR check and in its organization's file's summary.
Everything is Decimal; no Dagster here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from reporting_dagster.lib.rules.dates import plain_date
from reporting_dagster.lib.money import ZERO, dsum, is_missing
from reporting_dagster.lib.infra.platform_schema import PAYABLE
from reporting_dagster.lib.rules import boundaries

# The rules' version: bump it when a rule changes what a month gives (the assets' code_version),
# so the UI shows which months were made with older rules.
RULES_VERSION = "3"  # invoices with another organization's contract, project or counterparty left out

CLIENT = "invoice_to_client"
EXPECTED = "invoice_expected"
RECEIVED = "invoice_received"
REPORT_TYPES = (CLIENT, EXPECTED, RECEIVED)
NO_CURRENCY = "—"
COUNTERPARTY_LABEL = {CLIENT: "client", EXPECTED: "contractor", RECEIVED: "contractor"}

# header columns every extract has, and those only some have (absent ones become None)
_HEADER_COMMON = [
    "header_id", "organization_id", "project_id", "project_name", "contract_id", "contract_name",
    "counterparty_id", "counterparty_name", "currency", "header_total",
]
_HEADER_OPTIONAL = ["invoice_number", "invoice_date", "due_date", "invoice_status", "received_at", "created_at",
                    "invoice_direction"]
_LINE_SOURCE = ["line_id", "line_type", "line_type_name", "description", "quantity", "unit_price", "line_total",
                "meter_aggregate_id", "metered_quantity", "metered_unit"]

INVOICE_COLUMNS = [
    "header_id", "organization_id", "project_id", "project_name", "contract_id", "contract_name",
    "counterparty_id", "counterparty_name", "currency", "invoice_number", "invoice_date", "due_date",
    "status", "received_on", "header_total", "line_count", "lines_total", "amount", "credits",
    "difference", "total_mismatch", "invoice_direction",
]
LINE_COLUMNS = [
    "header_id", "organization_id", "line_id", "invoice_number", "contract_name", "project_name",
    "counterparty_name", "currency", "line_type", "line_type_code", "description", "quantity", "unit_price",
    "line_total", "meter_aggregate_id", "metered_quantity", "metered_unit", "is_credit", "invoice_direction",
]

_EMPTY_DTYPES = {"header_id": int, "line_count": int, "total_mismatch": bool, "is_credit": bool}

STATUSES = ("draft", "verified", "sent", "disputed", "paid")  # the platform's invoice_status


@dataclass
class Listing:
    """One report type's invoices of one billing period (all organizations unless filtered)."""

    report_type: str
    invoices: pd.DataFrame
    lines: pd.DataFrame
    parameters: dict[str, str] = field(default_factory=dict)
    # headers (of an organization) that print another organization's reference: in no file
    left_out: pd.DataFrame = field(default_factory=lambda: boundaries.empty_left_out("header_id"))

    def for_organization(self, organization_id: int) -> "Listing":
        def pick(df: pd.DataFrame) -> pd.DataFrame:
            return df[df["organization_id"] == organization_id].reset_index(drop=True)

        return Listing(self.report_type, pick(self.invoices), pick(self.lines), dict(self.parameters),
                       boundaries.of_organization(self.left_out, organization_id))

    def organization_ids(self) -> list[int]:
        return sorted(int(i) for i in self.invoices["organization_id"].dropna().unique().tolist())

    def resolved(self) -> "Listing":
        """Only the invoices (and lines) that belong to an organization."""
        keep = self.invoices["organization_id"].notna()
        lines = self.lines[self.lines["organization_id"].notna()]
        return Listing(self.report_type, self.invoices[keep].reset_index(drop=True), lines.reset_index(drop=True),
                       dict(self.parameters), self.left_out)


# ---------------------------------------------------------------------------------------------
# building


def _utc_date(value: Any) -> dt.date | None:
    """A timestamp's calendar date in UTC (a naive timestamp is taken to be UTC)."""
    if is_missing(value) or value is pd.NaT:
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
    return stamp.date()



def _objects(values) -> list[Any]:
    """Values as plain objects with None for missing (keeps Decimal, never float NaN)."""
    return [None if is_missing(v) or v is pd.NaT else v for v in values]


def _ids(values) -> list[int | None]:
    return [None if is_missing(v) else int(v) for v in values]


def build_listing(
    extract: pd.DataFrame,
    report_type: str,
    *,
    contract_id: int | None = None,
    project_id: int | None = None,
) -> Listing:
    """A per-line extract (client_invoice_lines, expected_invoice_lines or received_invoice_lines)
    → invoices and lines, optionally filtered to one contract and/or project."""
    if report_type not in REPORT_TYPES:
        raise ValueError(f"not an invoice listing: {report_type!r}; choose from {', '.join(REPORT_TYPES)}")
    frame = extract
    parameters: dict[str, str] = {}
    if contract_id is not None:
        frame = frame[frame["contract_id"] == contract_id]
        parameters["contract_id"] = str(contract_id)
    if project_id is not None:
        frame = frame[frame["project_id"] == project_id]
        parameters["project_id"] = str(project_id)
    frame = frame.reset_index(drop=True)
    for column in [*_HEADER_OPTIONAL, *_LINE_SOURCE]:
        if column not in frame.columns:
            frame[column] = None
    _, left_out = boundaries.split(frame.drop_duplicates("header_id"), "header_id", COUNTERPARTY_LABEL[report_type])
    frame = frame[~frame["header_id"].isin(left_out["header_id"])].reset_index(drop=True)

    invoices = _invoices(frame, report_type)
    lines = _lines(frame, invoices, report_type)
    return Listing(report_type, invoices, lines, parameters, left_out)


def _invoices(frame: pd.DataFrame, report_type: str) -> pd.DataFrame:
    heads = frame.drop_duplicates("header_id")
    if heads.empty:
        return pd.DataFrame({c: pd.Series(dtype=_EMPTY_DTYPES.get(c, object)) for c in INVOICE_COLUMNS})
    with_lines = frame[frame["line_id"].notna()]
    grouped = with_lines.groupby("header_id")
    sums = grouped["line_total"].agg(dsum) if len(with_lines) else pd.Series(dtype=object)
    counts = grouped.size() if len(with_lines) else pd.Series(dtype=int)
    credits = (with_lines.loc[[(not is_missing(v)) and v < 0 for v in with_lines["line_total"]]]
               .groupby("header_id")["line_total"].agg(dsum)) if len(with_lines) else pd.Series(dtype=object)

    out = pd.DataFrame({
        "header_id": [int(h) for h in heads["header_id"]],
        "organization_id": _ids(heads["organization_id"]),
        "project_id": _ids(heads["project_id"]),
        "project_name": _objects(heads["project_name"]),
        "contract_id": _ids(heads["contract_id"]),
        "contract_name": _objects(heads["contract_name"]),
        "counterparty_id": _ids(heads["counterparty_id"]),
        "counterparty_name": _objects(heads["counterparty_name"]),
        "currency": _objects(heads["currency"]),
        "invoice_number": _objects(heads["invoice_number"]) if report_type != EXPECTED else None,
        "invoice_date": [plain_date(v) for v in heads["invoice_date"]],
        "due_date": [plain_date(v) for v in heads["due_date"]],
        "status": _objects(heads["invoice_status"]),
        "received_on": [_utc_date(v) for v in heads["received_at"]] if report_type == RECEIVED else None,
        "header_total": _objects(heads["header_total"]),
        # contractor listings: payable unless the platform says receivable; client invoices: as stored
        "invoice_direction": ([d if not is_missing(d) else PAYABLE for d in heads["invoice_direction"]]
                              if report_type != CLIENT else _objects(heads["invoice_direction"])),
    }, dtype=object)
    out["line_count"] = [int(counts.get(h, 0)) for h in out["header_id"]]
    out["lines_total"] = [sums.get(h, ZERO) if not is_missing(sums.get(h, ZERO)) else ZERO for h in out["header_id"]]
    out["amount"] = [lt if ht is None else ht for ht, lt in zip(out["header_total"], out["lines_total"])]
    out["credits"] = [credits.get(h) if h in credits.index else None for h in out["header_id"]]
    mismatch = [ht is not None and n > 0 and ht != lt
                for ht, n, lt in zip(out["header_total"], out["line_count"], out["lines_total"])]
    out["total_mismatch"] = mismatch
    out["difference"] = [a - lt if m else None for a, lt, m in zip(out["amount"], out["lines_total"], mismatch)]
    out = out.astype({"header_id": int, "line_count": int, "total_mismatch": bool})

    # by direction and currency (totals follow), then by number (contractor and client invoices) or contract
    order = pd.DataFrame({
        "dir": [0 if d in (None, PAYABLE) else 1 for d in out["invoice_direction"]],
        "cur": out["currency"].fillna("~"),
        "name": (out["invoice_number"] if report_type != EXPECTED else out["contract_name"]).fillna("~").astype(str),
        "id": out["header_id"],
    })
    out = out.loc[order.sort_values(["dir", "cur", "name", "id"]).index]
    return out[INVOICE_COLUMNS].reset_index(drop=True)


def _lines(frame: pd.DataFrame, invoices: pd.DataFrame, report_type: str) -> pd.DataFrame:
    rows = frame[frame["line_id"].notna()]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=_EMPTY_DTYPES.get(c, object)) for c in LINE_COLUMNS})
    metered = report_type == CLIENT
    out = pd.DataFrame({
        "header_id": [int(h) for h in rows["header_id"]],
        "line_id": [int(i) for i in rows["line_id"]],
        "line_type": [name if not is_missing(name) else (None if is_missing(code) else code)
                      for name, code in zip(rows["line_type_name"], rows["line_type"])],
        "line_type_code": _objects(rows["line_type"]),
        "description": _objects(rows["description"]),
        "quantity": _objects(rows["quantity"]),
        "unit_price": _objects(rows["unit_price"]),
        "line_total": _objects(rows["line_total"]),
        "meter_aggregate_id": _ids(rows["meter_aggregate_id"]) if metered else None,
        "metered_quantity": _objects(rows["metered_quantity"]) if metered else None,
        "metered_unit": _objects(rows["metered_unit"]) if metered else None,
    }, dtype=object)
    out["is_credit"] = [(v is not None and v < 0) for v in out["line_total"]]
    context = invoices[["header_id", "organization_id", "invoice_number", "contract_name", "project_name",
                        "counterparty_name", "currency", "invoice_direction"]].copy()
    context["_order"] = range(len(context))
    out = out.astype({"header_id": int}).merge(context, on="header_id", how="left")
    out = out.sort_values(["_order", "line_id"], kind="stable")
    return out[LINE_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# totals, never across currencies


def totals_by_currency(invoices: pd.DataFrame, lines: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per currency: invoices, lines, amount (header totals), sum of lines, credits, mismatches."""
    out: dict[str, dict[str, Any]] = {}
    line_cur = lines["currency"].fillna(NO_CURRENCY) if len(lines) else pd.Series(dtype=object)
    for currency, group in invoices.groupby(invoices["currency"].fillna(NO_CURRENCY), sort=True):
        cur_lines = lines[line_cur == currency] if len(lines) else lines
        out[str(currency)] = {
            "invoices": int(len(group)),
            "lines": int(len(cur_lines)),
            "amount": dsum(group["amount"]),
            "lines_total": dsum(group["lines_total"]),
            "credits": dsum(v for v in cur_lines["line_total"] if not is_missing(v) and v < 0),
            "mismatched_invoices": int(group["total_mismatch"].sum()),
        }
    return out


def totals_by_line_type(lines: pd.DataFrame) -> dict[str, dict[str, Decimal]]:
    """Per currency, per line type (in first-appearance order): the sum of line totals."""
    out: dict[str, dict[str, Decimal]] = {}
    for cur, kind, total in zip(lines["currency"].fillna(NO_CURRENCY), lines["line_type"].fillna("(no type)"),
                                lines["line_total"]):
        if is_missing(total):
            continue
        per_type = out.setdefault(str(cur), {})
        per_type[str(kind)] = per_type.get(str(kind), ZERO) + total
    return dict(sorted(out.items()))


def metered_by_unit(lines: pd.DataFrame) -> dict[str, Decimal]:
    """Metered quantity per unit, each meter_aggregate counted once even when several lines use it."""
    if "meter_aggregate_id" not in lines or lines.empty:
        return {}
    metered = lines[lines["meter_aggregate_id"].notna() & lines["metered_quantity"].notna()]
    metered = metered.drop_duplicates("meter_aggregate_id")
    out: dict[str, Decimal] = {}
    for unit, qty in zip(metered["metered_unit"].fillna(""), metered["metered_quantity"]):
        out[str(unit)] = out.get(str(unit), ZERO) + qty
    return dict(sorted(out.items()))


def status_counts(invoices: pd.DataFrame) -> dict[str, int]:
    """Invoices per platform status (statuses outside the enum are counted too)."""
    counts = {s: int((invoices["status"] == s).sum()) for s in STATUSES}
    for other in sorted({s for s in invoices["status"].dropna() if s not in counts}):
        counts[str(other)] = int((invoices["status"] == other).sum())
    return counts


# ---------------------------------------------------------------------------------------------
# data-quality findings (the asset checks' logic)

_LISTED = ["header_id", "invoice_number", "counterparty_name", "contract_name", "project_name", "currency", "amount"]


def unresolved_invoices(listing: Listing) -> pd.DataFrame:
    """Invoices whose organization cannot be resolved (no project and no contract organization)."""
    return listing.invoices.loc[listing.invoices["organization_id"].isna(), _LISTED].reset_index(drop=True)


def total_mismatches(listing: Listing) -> pd.DataFrame:
    """Invoices with lines whose header total is not the exact sum of their lines."""
    bad = listing.invoices.loc[listing.invoices["total_mismatch"].astype(bool)]
    return bad[["header_id", "organization_id", "invoice_number", "contract_name", "currency",
                "header_total", "lines_total", "difference"]].reset_index(drop=True)


def duplicate_invoice_numbers(listing: Listing) -> pd.DataFrame:
    """Invoices sharing an invoice number (and counterparty) in the period: likely entered twice."""
    inv = listing.invoices[listing.invoices["invoice_number"].notna()]
    dup = inv[inv.duplicated(["counterparty_id", "invoice_number"], keep=False)]
    return dup.sort_values(["invoice_number", "header_id"])[_LISTED].reset_index(drop=True)
