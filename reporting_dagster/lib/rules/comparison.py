"""Expected versus received contractor invoices: pairing, line matching, variance and status.

Rules (issue #2, seed 000 §4):
- A stored `invoice_comparison` row pairs its two headers. Headers in no stored row pair by
  contract (and currency) within the billing period. Several invoices on one side of a pair are
  pooled: their amounts and lines are added up.
- Lines match by line item type; when a type repeats within one invoice, by type and description.
- variance = received − expected (positive = overbilled). `matched` when |variance| is within the
  absolute tolerance or the percent tolerance of the expected amount (both inclusive), else
  `overbilled` / `underbilled`; `missing_received` / `missing_expected` when one side is absent.
- variance % = variance / expected × 100, half-up to 2 dp, None when expected is 0.
- Totals keep three things apart: variance on the pairs with both sides (the only variance there
  is), amounts expected but not received, and amounts received but not expected.
- Every row that is a discrepancy says why in `discrepancy_reason` (outside tolerance, a missing
  side, a stored verdict that disagrees).
- Direction (SOURCE_SCHEMA.md Part A+): payable (contractor bills) and receivable (the platform's
  calculated client invoice vs the one the ERP issued) never pair with each other, not even
  through a stored comparison; every row carries its `invoice_direction`.
- Everything is Decimal; totals are per currency (and per direction: platform_schema.by_direction).
- Tenant boundaries (lib/rules/boundaries.py): every header carries `foreign_references` (its
  contract, project or counterparty of another organization) and `stored_link_conflict` (a stored
  comparison links it to a header of another or of no organization, in any period); the checks
  (lib/rules/checks.py) stop the files of the organizations concerned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from reporting_dagster.lib.documents.catalog.invoice_comparison import DEFAULT_TOLERANCE_ABSOLUTE, DEFAULT_TOLERANCE_PERCENT
from reporting_dagster.lib.money import ZERO, dsum, is_missing, percent_of, to_decimal
from reporting_dagster.lib.infra.platform_schema import PAYABLE
from reporting_dagster.lib.rules import boundaries

# The rules' version: bump it when a rule changes what a month gives (the assets' code_version),
# so the UI shows which months were made with older rules.
RULES_VERSION = "3"  # totals keep paired variance apart from amounts not received / not expected

MATCHED = "matched"
OVERBILLED = "overbilled"
UNDERBILLED = "underbilled"
MISSING_RECEIVED = "missing_received"
MISSING_EXPECTED = "missing_expected"
STATUSES = (MATCHED, OVERBILLED, UNDERBILLED, MISSING_RECEIVED, MISSING_EXPECTED)
STORED_VERDICTS = {MATCHED, OVERBILLED, UNDERBILLED}  # 'unchecked' states no opinion

# why a row is highlighted (the `discrepancy_reason` column), in words for the page
OUTSIDE_TOLERANCE = "Outside tolerance"
STORED_DISAGREES = "Stored status disagrees"
MISSING_SIDE = {
    "invoices": {MISSING_RECEIVED: "No received invoice", MISSING_EXPECTED: "No expected invoice"},
    "lines": {MISSING_RECEIVED: "No received line", MISSING_EXPECTED: "No expected line"},
}

HEADER_COLUMNS = [
    "header_id", "organization_id", "project_organization_id", "contract_organization_id", "project_id", "project_name", "contract_id", "contract_name",
    "counterparty_id", "counterparty_name", "currency", "header_total", "invoice_number", "invoice_direction",
    "counterparty_organization_ids",
]
LINE_COLUMNS = ["header_id", "line_id", "line_type", "line_type_name", "description", "quantity", "line_total"]


@dataclass(frozen=True)
class Tolerance:
    absolute: Decimal = Decimal(DEFAULT_TOLERANCE_ABSOLUTE)
    percent: Decimal = Decimal(DEFAULT_TOLERANCE_PERCENT)

    @classmethod
    def parse(cls, absolute: Any = DEFAULT_TOLERANCE_ABSOLUTE, percent: Any = DEFAULT_TOLERANCE_PERCENT) -> "Tolerance":
        abs_ = to_decimal(absolute, "tolerance_absolute")
        pct = to_decimal(percent, "tolerance_percent")
        if abs_ < 0 or pct < 0:
            raise ValueError("tolerances must not be negative")
        return cls(abs_, pct)

    def status(self, expected: Decimal | None, received: Decimal | None) -> str:
        if received is None:
            return MISSING_RECEIVED
        if expected is None:
            return MISSING_EXPECTED
        variance = received - expected
        if abs(variance) <= self.absolute or abs(variance) <= abs(expected) * self.percent / 100:
            return MATCHED
        return OVERBILLED if variance > 0 else UNDERBILLED

    def as_parameters(self) -> dict[str, str]:
        return {"tolerance_absolute": str(self.absolute), "tolerance_percent": str(self.percent)}


@dataclass
class ComparisonResult:
    """The comparison of one billing period, all organizations.

    invoices: one row per pair (pooled invoices on either side), with variance and status.
    lines: one row per matched line key within a pair.
    headers: every expected and received header with its pair, line sum and organization.
    """

    invoices: pd.DataFrame
    lines: pd.DataFrame
    headers: pd.DataFrame
    parameters: dict[str, str] = field(default_factory=dict)

    def for_organization(self, organization_id: int) -> "ComparisonResult":
        def pick(df: pd.DataFrame) -> pd.DataFrame:
            return df[df["organization_id"] == organization_id].reset_index(drop=True)

        return ComparisonResult(pick(self.invoices), pick(self.lines), pick(self.headers), dict(self.parameters))

    def organization_ids(self) -> list[int]:
        ids = self.invoices["organization_id"].dropna().unique().tolist()
        return sorted(int(i) for i in ids)


# ---------------------------------------------------------------------------------------------
# headers


def split_extract(extract: pd.DataFrame, side: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One per-line extract → (headers with their line sums, lines)."""
    cols = [c for c in HEADER_COLUMNS if c in extract.columns]
    headers = extract.drop_duplicates("header_id")[cols].copy()
    if "invoice_number" not in headers:
        headers["invoice_number"] = None
    headers["invoice_direction"] = (headers["invoice_direction"].fillna(PAYABLE) if "invoice_direction" in headers
                                    else PAYABLE)
    lines = extract.loc[extract["line_id"].notna(), LINE_COLUMNS].copy()
    sums = lines.groupby("header_id")["line_total"].agg(dsum) if len(lines) else pd.Series(dtype=object)
    counts = lines.groupby("header_id").size() if len(lines) else pd.Series(dtype=int)
    headers["lines_total"] = headers["header_id"].map(sums).map(lambda v: ZERO if is_missing(v) else v)
    headers["line_count"] = headers["header_id"].map(counts).fillna(0).astype(int)
    # the billed amount is the header's total; a header without one is worth its lines
    headers["amount"] = [
        lt if is_missing(ht) else ht for ht, lt in zip(headers["header_total"], headers["lines_total"])
    ]
    headers["side"] = side
    return headers.reset_index(drop=True), lines.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# pairing


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(self, x: tuple[str, int]) -> tuple[str, int]:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def assign_pairs(headers: pd.DataFrame, stored: pd.DataFrame) -> pd.Series:
    """A pair number for every header (index-aligned with `headers`).

    Headers linked by stored comparisons form one pair (transitively) when both have the same
    direction; the rest pair by (contract, currency, direction); a header without a contract
    stands alone. Pair numbers follow the
    smallest (organization, contract, side, header id) in the pair, so they are reproducible.
    """
    uf = _UnionFind()
    direction_of = dict(zip(zip(headers["side"], headers["header_id"].astype(int)), headers["invoice_direction"]))
    stored_nodes: set[tuple[str, int]] = set()
    for e_id, r_id in zip(stored["expected_header_id"], stored["received_header_id"]):
        nodes = [n for n in (("E", e_id), ("R", r_id)) if not is_missing(n[1])]
        nodes = [(s, int(i)) for s, i in nodes if (s, int(i)) in direction_of]
        if len({direction_of[n] for n in nodes}) > 1:
            continue  # a stored link across directions is not a pair: both sides pair by contract
        stored_nodes.update(nodes)
        for node in nodes[1:]:
            uf.union(nodes[0], node)
    by_contract: dict[tuple[int, Any, str], tuple[str, int]] = {}
    for side, hid, contract, currency, direction in zip(
        headers["side"], headers["header_id"].astype(int), headers["contract_id"], headers["currency"],
        headers["invoice_direction"],
    ):
        node = (side, hid)
        uf.find(node)
        if node in stored_nodes or is_missing(contract):
            continue
        key = (int(contract), currency, direction)
        if key in by_contract:
            uf.union(by_contract[key], node)
        else:
            by_contract[key] = node
    roots = [uf.find((s, int(h))) for s, h in zip(headers["side"], headers["header_id"])]
    order = pd.DataFrame({
        "root": roots,
        "org": headers["organization_id"].fillna(-1).astype(int),
        "contract": headers["contract_id"].fillna(-1).astype(int),
        "side": headers["side"],
        "hid": headers["header_id"].astype(int),
    })
    first = order.sort_values(["org", "contract", "side", "hid"]).drop_duplicates("root")
    numbering = {root: n for n, root in enumerate(first["root"], start=1)}
    return pd.Series([numbering[r] for r in roots], index=headers.index, name="pair_id")


def stored_link_conflicts(headers: pd.DataFrame, stored: pd.DataFrame) -> list[bool]:
    """Per header: a stored comparison links it to a header whose organization is another one or
    unknown (the other header may be of another billing period, so not among `headers`)."""
    if "expected_organization_id" not in stored or "received_organization_id" not in stored or not len(headers):
        return [False] * len(headers)

    def org(value: Any) -> int | None:
        return None if is_missing(value) else int(value)

    flagged: set[tuple[str, int]] = set()
    for e_id, r_id, e_org, r_org in zip(stored["expected_header_id"], stored["received_header_id"],
                                        stored["expected_organization_id"], stored["received_organization_id"]):
        if is_missing(e_id) or is_missing(r_id) or org(e_org) == org(r_org):
            continue
        flagged.update({("E", int(e_id)), ("R", int(r_id))})
    return [(s, int(h)) in flagged for s, h in zip(headers["side"], headers["header_id"])]


# ---------------------------------------------------------------------------------------------
# comparison


def _norm(text: Any) -> str:
    return "" if is_missing(text) else " ".join(str(text).split()).casefold()


def _join_unique(values: pd.Series) -> str:
    seen = [str(v) for v in dict.fromkeys(v for v in values if not is_missing(v))]
    return ", ".join(seen)


def _first(values: pd.Series) -> Any:
    for v in values:
        if not is_missing(v):
            return v
    return None


def compare(
    expected: pd.DataFrame,
    received: pd.DataFrame,
    stored: pd.DataFrame,
    tolerance: Tolerance = Tolerance(),
    billing_period: str | None = None,
) -> ComparisonResult:
    """Compare one billing period's expected and received invoices (all organizations);
    `billing_period` (YYYY-MM) is written on every row."""
    exp_headers, exp_lines = split_extract(expected, "E")
    rec_headers, rec_lines = split_extract(received, "R")
    headers = pd.concat([exp_headers, rec_headers], ignore_index=True)
    headers["pair_id"] = assign_pairs(headers, stored) if len(headers) else pd.Series(dtype=int)
    headers["billing_period"] = billing_period
    headers["foreign_references"] = boundaries.foreign_references(headers)
    headers["stored_link_conflict"] = stored_link_conflicts(headers, stored)

    invoices = _compare_invoices(headers, stored, tolerance)
    lines = _compare_lines(headers, exp_lines, rec_lines, invoices, tolerance)
    return ComparisonResult(invoices, lines, headers, tolerance.as_parameters())


def compare_periods(
    periods: list[tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]],
    tolerance: Tolerance = Tolerance(),
) -> ComparisonResult:
    """Several billing periods (a quarter, a year): each (key, expected, received, stored) is
    compared alone — pairs form within a billing period, so a missing February invoice is
    `missing_received` for February and never offset by a double March one — then the results
    are put together with pair numbers kept unique."""
    parts, offset = [], 0
    for key, expected, received, stored in periods:
        part = compare(expected, received, stored, tolerance, billing_period=key)
        for frame in (part.invoices, part.lines, part.headers):
            if len(frame):
                frame["pair_id"] = frame["pair_id"].astype(int) + offset
        offset = max([offset, *part.headers["pair_id"].astype(int).tolist()]) if len(part.headers) else offset
        parts.append(part)
    if len(parts) == 1:
        return parts[0]

    def stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frames = [f for f in frames if len(f)] or frames[:1]
        return pd.concat(frames, ignore_index=True)

    return ComparisonResult(stack([p.invoices for p in parts]), stack([p.lines for p in parts]),
                            stack([p.headers for p in parts]), tolerance.as_parameters())


INVOICE_OUTPUT = [
    "pair_id", "billing_period", "invoice_direction", "organization_id", "contract_id", "contract_name", "project_name", "counterparty_name",
    "currency", "expected_header_ids", "received_header_ids", "received_invoice_numbers",
    "expected_amount", "received_amount", "variance", "variance_percent", "status",
    "stored_comparison_ids", "stored_status", "final_amount", "adjustment_amount",
    "status_disagrees", "has_discrepancy", "discrepancy_reason",
]


def _compare_invoices(headers: pd.DataFrame, stored: pd.DataFrame, tolerance: Tolerance) -> pd.DataFrame:
    if headers.empty:
        return pd.DataFrame(columns=INVOICE_OUTPUT)
    exp = headers[headers["side"] == "E"]
    rec = headers[headers["side"] == "R"]
    grouped = headers.sort_values(["side", "header_id"]).groupby("pair_id", sort=True)
    out = pd.DataFrame({
        "organization_id": grouped["organization_id"].agg(_first),
        "contract_id": grouped["contract_id"].agg(_first),
        "contract_name": grouped["contract_name"].agg(_first),
        "project_name": grouped["project_name"].agg(_first),
        "counterparty_name": grouped["counterparty_name"].agg(_first),
        "currency": grouped["currency"].agg(_first),
        "invoice_direction": grouped["invoice_direction"].agg(_first),
        "billing_period": grouped["billing_period"].agg(_first),
    })
    out["expected_header_ids"] = exp.groupby("pair_id")["header_id"].agg(_join_unique)
    out["received_header_ids"] = rec.groupby("pair_id")["header_id"].agg(_join_unique)
    out["received_invoice_numbers"] = rec.groupby("pair_id")["invoice_number"].agg(_join_unique)
    out["expected_amount"] = exp.groupby("pair_id")["amount"].agg(dsum)
    out["received_amount"] = rec.groupby("pair_id")["amount"].agg(dsum)
    out = out.astype({"expected_amount": object, "received_amount": object})
    for col in ("expected_header_ids", "received_header_ids", "received_invoice_numbers"):
        out[col] = out[col].fillna("")
    for col in ("expected_amount", "received_amount"):
        out[col] = [None if is_missing(v) else v for v in out[col]]
    _add_variance(out, tolerance)

    # carry the platform's stored comparison (status, final and adjustment amounts)
    pair_of = dict(zip(zip(headers["side"], headers["header_id"].astype(int)), headers["pair_id"]))
    stored = stored.copy()
    stored["pair_id"] = [
        pair_of.get(("E", int(e))) if not is_missing(e) and ("E", int(e)) in pair_of
        else pair_of.get(("R", int(r))) if not is_missing(r) else None
        for e, r in zip(stored["expected_header_id"], stored["received_header_id"])
    ]
    stored = stored[stored["pair_id"].notna()]
    by_pair = stored.groupby("pair_id")
    out["stored_comparison_ids"] = by_pair["comparison_id"].agg(_join_unique)
    out["stored_status"] = by_pair["stored_status"].agg(_join_unique)
    out["final_amount"] = by_pair["final_amount"].agg(lambda s: None if s.isna().all() else dsum(s))
    out["adjustment_amount"] = by_pair["adjustment_amount"].agg(lambda s: None if s.isna().all() else dsum(s))
    out = out.astype({"final_amount": object, "adjustment_amount": object})
    for col in ("final_amount", "adjustment_amount"):
        out[col] = [None if is_missing(v) else v for v in out[col]]
    out["stored_comparison_ids"] = out["stored_comparison_ids"].fillna("")
    out["stored_status"] = out["stored_status"].fillna("")
    out["status_disagrees"] = [
        bool(set(s.split(", ")) & STORED_VERDICTS) and s != status
        for s, status in zip(out["stored_status"], out["status"])
    ]
    out["has_discrepancy"] = (out["status"] != MATCHED) | out["status_disagrees"]
    out["discrepancy_reason"] = [discrepancy_reason(s, d, "invoices") for s, d in zip(out["status"], out["status_disagrees"])]
    out = out.reset_index().rename(columns={"index": "pair_id"})
    out = out.astype({"organization_id": "Int64", "contract_id": "Int64"})
    return out[INVOICE_OUTPUT]


def discrepancy_reason(status: str, stored_disagrees: bool = False, table: str = "invoices") -> str:
    """Why a row is a discrepancy, in a few words ('' for a matched row nobody disputes)."""
    reasons = []
    if status in (OVERBILLED, UNDERBILLED):
        reasons.append(OUTSIDE_TOLERANCE)
    elif status in (MISSING_RECEIVED, MISSING_EXPECTED):
        reasons.append(MISSING_SIDE[table][status])
    if stored_disagrees:
        reasons.append(STORED_DISAGREES)
    return "; ".join(reasons)


def _add_variance(frame: pd.DataFrame, tolerance: Tolerance) -> None:
    pairs = list(zip(frame["expected_amount"], frame["received_amount"]))
    frame["variance"] = [None if e is None or r is None else r - e for e, r in pairs]
    frame["variance_percent"] = [percent_of(v, e) for v, (e, _) in zip(frame["variance"], pairs)]
    frame["status"] = [tolerance.status(e, r) for e, r in pairs]


LINE_OUTPUT = [
    "pair_id", "billing_period", "invoice_direction", "organization_id", "contract_name", "received_invoice_numbers", "currency",
    "line_type", "line_type_name", "description", "expected_quantity", "received_quantity",
    "expected_amount", "received_amount", "variance", "variance_percent", "status", "has_discrepancy",
    "discrepancy_reason",
]


def _compare_lines(
    headers: pd.DataFrame,
    exp_lines: pd.DataFrame,
    rec_lines: pd.DataFrame,
    invoices: pd.DataFrame,
    tolerance: Tolerance,
) -> pd.DataFrame:
    pair_of = headers.set_index(["side", "header_id"])["pair_id"]
    frames = []
    for side, lines in (("E", exp_lines), ("R", rec_lines)):
        if lines.empty:
            continue
        part = lines.copy()
        part["side"] = side
        part["pair_id"] = pair_of.loc[[(side, h) for h in part["header_id"]]].to_numpy()
        frames.append(part)
    if not frames:
        return pd.DataFrame(columns=LINE_OUTPUT)
    lines = pd.concat(frames, ignore_index=True)
    lines["line_type"] = lines["line_type"].fillna("UNTYPED")
    lines["desc_key"] = lines["description"].map(_norm)
    # a type that repeats within one invoice (either side) matches by description too
    per_invoice = lines.groupby(["pair_id", "side", "header_id", "line_type"]).size()
    repeating = set(per_invoice[per_invoice > 1].reset_index()[["pair_id", "line_type"]].itertuples(index=False, name=None))
    lines["match_key"] = [
        desc if (pair, ltype) in repeating else ""
        for pair, ltype, desc in zip(lines["pair_id"], lines["line_type"], lines["desc_key"])
    ]
    keys = ["pair_id", "line_type", "match_key"]
    sides = {}
    for side in ("E", "R"):
        g = lines[lines["side"] == side].groupby(keys, sort=False)
        sides[side] = pd.DataFrame({
            "amount": g["line_total"].agg(dsum),
            "quantity": g["quantity"].agg(lambda s: None if s.isna().all() else dsum(s)),
            "description": g["description"].agg(_first),
            "line_type_name": g["line_type_name"].agg(_first),
            "first_line": g["line_id"].min(),
        })
    merged = sides["E"].merge(sides["R"], how="outer", left_index=True, right_index=True, suffixes=("_e", "_r")).reset_index()
    out = pd.DataFrame({
        "pair_id": merged["pair_id"].astype(int),
        "line_type": merged["line_type"],
        "line_type_name": [a if not is_missing(a) else b for a, b in zip(merged["line_type_name_e"], merged["line_type_name_r"])],
        "description": [a if not is_missing(a) else b for a, b in zip(merged["description_e"], merged["description_r"])],
        "expected_quantity": [None if is_missing(v) else v for v in merged["quantity_e"]],
        "received_quantity": [None if is_missing(v) else v for v in merged["quantity_r"]],
        "expected_amount": [None if is_missing(v) else v for v in merged["amount_e"]],
        "received_amount": [None if is_missing(v) else v for v in merged["amount_r"]],
        "_order": [min(x for x in (a, b) if not is_missing(x)) for a, b in zip(merged["first_line_e"], merged["first_line_r"])],
    })
    _add_variance(out, tolerance)
    out["has_discrepancy"] = out["status"] != MATCHED
    out["discrepancy_reason"] = [discrepancy_reason(s, table="lines") for s in out["status"]]
    context = invoices.set_index("pair_id")[["organization_id", "contract_name", "received_invoice_numbers", "currency",
                                             "invoice_direction", "billing_period"]]
    out = out.join(context, on="pair_id")
    out = out.sort_values(["pair_id", "_order"]).reset_index(drop=True)
    return out[LINE_OUTPUT]


# ---------------------------------------------------------------------------------------------
# summaries


def totals_by_currency(invoices: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per currency, three things kept apart: the pairs with both sides (`paired`: their expected,
    received, variance and variance % — the only variance there is), the pairs expected but not
    received (`not_received`: count and expected amount) and those received but not expected
    (`not_expected`: count and received amount). `expected` / `received` are the column sums over
    every pair; `variance` / `variance_percent` are the paired ones (never received − expected
    over all rows, which would count a missing invoice as variance)."""
    out: dict[str, dict[str, Any]] = {}
    for currency, group in invoices.groupby(invoices["currency"].fillna("—"), sort=True):
        both = group[~group["status"].isin([MISSING_RECEIVED, MISSING_EXPECTED])]
        no_received = group[group["status"] == MISSING_RECEIVED]
        no_expected = group[group["status"] == MISSING_EXPECTED]
        paired_expected = dsum(both["expected_amount"])
        paired_variance = dsum(both["received_amount"]) - paired_expected
        counts = {s: int((group["status"] == s).sum()) for s in STATUSES}
        out[str(currency)] = {
            "expected": dsum(group["expected_amount"]),
            "received": dsum(group["received_amount"]),
            "variance": paired_variance,
            "variance_percent": percent_of(paired_variance, paired_expected),
            "pairs": int(len(group)),
            "paired": {
                "pairs": int(len(both)),
                "expected": paired_expected,
                "received": dsum(both["received_amount"]),
                "variance": paired_variance,
                "variance_percent": percent_of(paired_variance, paired_expected),
            },
            "not_received": {"pairs": int(len(no_received)), "expected": dsum(no_received["expected_amount"])},
            "not_expected": {"pairs": int(len(no_expected)), "received": dsum(no_expected["received_amount"])},
            "status_counts": counts,
            "stored_disagreements": int(group["status_disagrees"].sum()),
        }
    return out


def status_counts(invoices: pd.DataFrame) -> dict[str, int]:
    return {s: int((invoices["status"] == s).sum()) for s in STATUSES}
