"""Data-quality findings on the invoice headers of a comparison (the asset checks' logic)."""

from __future__ import annotations

import pandas as pd

SIDE_NAMES = {"E": "expected", "R": "received"}
_LISTED = ["side", "header_id", "invoice_number", "contract_name", "currency"]


def _listed(frame: pd.DataFrame, *extra: str) -> pd.DataFrame:
    out = frame[[*_LISTED, *extra]].copy()
    out["side"] = out["side"].map(SIDE_NAMES)
    return out.reset_index(drop=True)


def line_total_mismatches(headers: pd.DataFrame) -> pd.DataFrame:
    """Headers with lines whose total_amount is not the exact sum of their lines."""
    has_total = headers["header_total"].notna() & (headers["line_count"] > 0)
    bad = headers[has_total & (headers["header_total"] != headers["lines_total"])]
    return _listed(bad, "header_total", "lines_total")


def headers_counted_twice(headers: pd.DataFrame) -> pd.DataFrame:
    """Headers that appear in more than one pair (must never happen)."""
    pairs = headers.groupby(["side", "header_id"])["pair_id"].nunique()
    twice = pairs[pairs > 1].reset_index()[["side", "header_id"]]
    return headers.merge(twice, on=["side", "header_id"]).pipe(_listed)


def duplicate_vendor_invoices(headers: pd.DataFrame) -> pd.DataFrame:
    """Received headers sharing a contractor and vendor invoice number: likely entered twice."""
    rec = headers[(headers["side"] == "R") & headers["invoice_number"].notna()]
    dup = rec[rec.duplicated(["counterparty_id", "invoice_number"], keep=False)]
    return _listed(dup.sort_values(["invoice_number", "header_id"]), "amount")


def unresolved_invoices(headers: pd.DataFrame) -> pd.DataFrame:
    """Headers whose organization cannot be resolved (no project and no contract organization)."""
    return _listed(headers[headers["organization_id"].isna()], "amount")
