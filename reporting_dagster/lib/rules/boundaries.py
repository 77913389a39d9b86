"""Tenant boundaries in the data: a row printed in an organization's file resolves to that
organization through every reference it prints (issue 10 item 5).

A row's organization is the extract's `organization_id` (an invoice's project, else its contract;
a time entry's project, else its member). Each printed reference has its own owner, which the
extracts give next to it:

- `project_organization_id`: the project's organization;
- `contract_organization_id`: the contract's organization, else its project's (the same rule the
  request validation uses for a contract filter);
- `member_organization_id`: the member's organization (time entries);
- `counterparty_organization_ids`: the organizations a client or contractor is linked to (through
  their contracts, and for clients through customer_project). `counterparty` has no organization
  column: a counterparty linked to no organization at all is nobody's in particular and passes;
  one linked only to other organizations is theirs.

A row whose references name another organization is *left out* of every file and reported by an
ERROR finding naming the row (its id and which references are foreign, never the other
organization's names or amounts): the asset check of the month in the pack, and the `left_out`
part of the document's summary (a card in PDF/HTML) in the file of the organization it would
have been printed in. The rest of the file is made: a listing, an aging or a timesheet stays right
without the row. The comparison is stricter (lib/rules/checks.py): an invoice with a foreign
reference stops that organization's comparison files, as the existing organization checks do,
since a pair without one of its invoices would show a false variance.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from reporting_dagster.lib.money import is_missing

CHECK = "references_within_organization"
SEVERITY = "ERROR"
SINGLE_OWNERS = {"project": "project_organization_id", "contract": "contract_organization_id",
                 "member": "member_organization_id"}
COUNTERPARTY_OWNERS = "counterparty_organization_ids"
REFERENCE_COLUMN = "foreign_references"


def _owners(value: Any) -> set[int]:
    if value is None or isinstance(value, str):
        return set()
    if isinstance(value, float) and value != value:
        return set()
    try:
        return {int(v) for v in value if not is_missing(v)}
    except TypeError:
        return set() if is_missing(value) else {int(value)}


def foreign_references(frame: pd.DataFrame, counterparty_label: str = "counterparty") -> list[str]:
    """Per row: the references it prints that belong to another organization than the row's,
    as "contract, client" ('' when none, and for rows of no organization: those are unresolved)."""
    if "organization_id" not in frame.columns:
        return [""] * len(frame)
    present = [(name, frame[col].tolist()) for name, col in SINGLE_OWNERS.items() if col in frame.columns]
    owners = frame[COUNTERPARTY_OWNERS].tolist() if COUNTERPARTY_OWNERS in frame.columns else None
    out = []
    for i, org in enumerate(frame["organization_id"].tolist()):
        if is_missing(org):
            out.append("")
            continue
        org = int(org)
        bad = [name for name, values in present if not is_missing(values[i]) and int(values[i]) != org]
        if owners is not None:
            linked = _owners(owners[i])
            if linked and org not in linked:
                bad.append(counterparty_label)
        out.append(", ".join(bad))
    return out


def split(frame: pd.DataFrame, id_column: str, counterparty_label: str = "counterparty"
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the rows to print, the rows left out with `organization_id`, `id_column` and
    `foreign_references`)."""
    refs = foreign_references(frame, counterparty_label)
    foreign = pd.Series([bool(r) for r in refs], index=frame.index, dtype=bool)
    left_out = frame.loc[foreign, ["organization_id", id_column]].copy()
    left_out[REFERENCE_COLUMN] = [r for r in refs if r]
    return frame[~foreign].reset_index(drop=True), left_out.reset_index(drop=True)


def empty_left_out(id_column: str) -> pd.DataFrame:
    return pd.DataFrame({"organization_id": pd.Series(dtype=object), id_column: pd.Series(dtype=object),
                         REFERENCE_COLUMN: pd.Series(dtype=object)})


def of_organization(left_out: pd.DataFrame, organization_id: int) -> pd.DataFrame:
    return left_out[left_out["organization_id"] == organization_id].reset_index(drop=True)


def finding(left_out: pd.DataFrame, id_column: str, noun: str) -> dict[str, Any] | None:
    """The ERROR finding of one organization's left-out rows (None when there are none): which
    rows, which of their references are foreign, and what to fix."""
    if left_out is None or left_out.empty:
        return None
    ids = [int(v) for v in left_out[id_column]]
    kinds = sorted({k for refs in left_out[REFERENCE_COLUMN] for k in str(refs).split(", ") if k})
    return {
        "check": CHECK,
        "severity": SEVERITY,
        "left_out": len(ids),
        id_column: ids,
        "foreign_references": kinds,
        "message": f"{len(ids)} {noun if len(ids) == 1 else _plural(noun)} left out of this file: "
                   f"{'its' if len(ids) == 1 else 'their'} {' / '.join(kinds)} belong{'s' if len(kinds) == 1 else ''} "
                   f"to another organization ({id_column} {', '.join(map(str, ids[:20]))}"
                   f"{', …' if len(ids) > 20 else ''}); correct the references in the platform and run the report again",
    }


def _plural(noun: str) -> str:
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
