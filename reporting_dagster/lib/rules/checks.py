"""Data-quality findings on the invoice headers of a comparison (the asset checks' logic), and
which organizations they concern: an ERROR finding keeps that organization's files from being
made and sent (pack and requests alike); a WARN finding is written into the file's summary.

The tenant-boundary findings of the comparison (`invoices_resolve_to_one_organization`,
`pairs_within_one_organization`) are ERRORs that stop the files (a pair without one of its
invoices would show a false variance); the other reports leave such rows out instead
(lib/rules/boundaries.py)."""

from __future__ import annotations

import pandas as pd

from reporting_dagster.lib.rules import boundaries

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


def organization_conflicts(headers: pd.DataFrame) -> pd.DataFrame:
    """Headers whose project, contract (its organization, else its project's) or counterparty
    (lib/rules/boundaries.py) belong to another organization than the header: whose is it?"""
    if "foreign_references" not in headers:
        headers = headers.assign(foreign_references=boundaries.foreign_references(headers))
    bad = headers[headers["foreign_references"] != ""]
    extra = [c for c in ("project_organization_id", "contract_organization_id") if c in headers]
    return _listed(bad, *extra, "foreign_references")


def pairs_across_organizations(headers: pd.DataFrame) -> pd.DataFrame:
    """Headers of pairs that reach beyond one organization: sides of two organizations (by contract
    or a stored comparison), a side of no organization next to one of an organization, or a stored
    comparison to a header of another organization in another period. One organization's file
    would show an invoice (or a stored amount) that is not its own."""
    resolved = headers[headers["organization_id"].notna()]
    orgs = resolved.groupby("pair_id")["organization_id"].nunique()
    unresolved = set(headers.loc[headers["organization_id"].isna(), "pair_id"])
    mixed = set(orgs[orgs > 1].index) | (unresolved & set(resolved["pair_id"]))
    if "stored_link_conflict" in headers:
        mixed |= set(headers.loc[headers["stored_link_conflict"].astype(bool), "pair_id"])
    return _listed(headers[headers["pair_id"].isin(mixed)], "pair_id", "organization_id")


ERROR, WARN = "ERROR", "WARN"


def findings(headers: pd.DataFrame) -> "Findings":
    """Every check's (severity, listed headers, organizations concerned) on one comparison."""
    out: dict[str, tuple[str, pd.DataFrame, set[int]]] = {}
    twice = headers_counted_twice(headers)
    out["no_invoice_counted_twice"] = (ERROR, twice, _orgs(headers, twice))
    duplicates = duplicate_vendor_invoices(headers)
    out["duplicate_vendor_invoice_numbers"] = (WARN, duplicates, _orgs(headers, duplicates))
    conflicts = organization_conflicts(headers)
    out["invoices_resolve_to_one_organization"] = (ERROR, conflicts, _orgs(headers, conflicts, both_sides=True))
    mixed = pairs_across_organizations(headers)
    out["pairs_within_one_organization"] = (ERROR, mixed, _orgs(headers, mixed))
    mismatches = line_total_mismatches(headers)
    out["line_totals_match_headers"] = (WARN, mismatches, _orgs(headers, mismatches))
    return out


def _orgs(headers: pd.DataFrame, listed: pd.DataFrame, both_sides: bool = False) -> set[int]:
    keys = set(zip(listed["side"].map({v: k for k, v in SIDE_NAMES.items()}), listed["header_id"]))
    rows = headers[[k in keys for k in zip(headers["side"], headers["header_id"])]]
    columns = ["organization_id", "project_organization_id", "contract_organization_id"] if both_sides \
        else ["organization_id"]
    return {int(v) for c in columns if c in rows for v in rows[c].dropna()}


Findings = dict[str, tuple[str, pd.DataFrame, set[int]]]


def blocking(found: Findings, organization_id: int) -> list[str]:
    """The ERROR findings that concern this organization, as messages naming the check."""
    return [f"blocked by check {name}: {len(listed)} invoice(s) of this period fail it; fix the data and "
            f"run the report again" for name, (severity, listed, orgs) in found.items()
            if severity == ERROR and organization_id in orgs and len(listed)]


def warnings_for(found: Findings, organization_id: int) -> list[dict]:
    """The WARN findings that concern this organization (for the file's summary)."""
    return [{"check": name, "invoices": int(len(listed))}
            for name, (severity, listed, orgs) in found.items()
            if severity == WARN and organization_id in orgs and len(listed)]
