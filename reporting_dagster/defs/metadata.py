"""Materialization and check metadata as a person reads it in the Dagster UI.

Markdown tables, one row per organization (and currency): amounts with 2 decimals (half-up) and
thousands separators, counts as whole numbers, empty cells for missing values (never `nan`,
`None` or `NaT`), text on one line with `|` escaped so a name cannot break the table. Totals
are per organization and currency: a month's amounts are never added across organizations
(they are different companies) nor across currencies.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import dagster as dg
import pandas as pd

from reporting_dagster.lib.money import half_up

MAX_ROWS = 50  # rows listed in a check's table; the count says how many there are
MAX_ORGANIZATIONS = 25  # organizations in a totals table (each needs its own slice of the result)


def cell(value: Any) -> str:
    """One value as text: Decimal and float with 2 decimals, ints as they are (ids among them),
    missing values (None, NaN, NaT) as an empty cell."""
    if value is None or value is pd.NaT:
        return ""
    if hasattr(value, "item") and not isinstance(value, (str, bytes, Decimal)):
        value = value.item()  # numpy scalars
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) or math.isinf(value) else f"{half_up(Decimal(repr(value))):,.2f}"
    if isinstance(value, Decimal):
        return f"{half_up(value):,.2f}" if value.is_finite() else ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass  # a list or other container: shown as text
    return " ".join(str(value).split()).replace("|", "\\|")


def _is_number(values: Iterable[Any]) -> bool:
    seen = [v for v in values if cell(v) != ""]
    return bool(seen) and all(isinstance(v.item() if hasattr(v, "item") and not isinstance(v, Decimal) else v,
                                         (int, float, Decimal)) and not isinstance(v, bool) for v in seen)


def markdown(rows: list[Mapping[str, Any]], columns: list[str] | None = None, *, empty: str = "none",
             more: int = 0) -> str:
    """A markdown table of `rows` (numbers right-aligned), "none" when there are none."""
    if not rows:
        return empty
    columns = columns or list(rows[0])
    numeric = {c: _is_number(r.get(c) for r in rows) for c in columns}
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |",
             "| " + " | ".join("---:" if numeric[c] else ":---" for c in columns) + " |"]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    if more:
        lines.append(f"\n… and {more:,d} more")
    return "\n".join(lines)


def table(frame: pd.DataFrame, columns: Mapping[str, str] | list[str] | None = None, *,
          limit: int = MAX_ROWS, empty: str = "none") -> dg.MetadataValue:
    """The first `limit` rows of `frame` (`columns`: names, or name → heading), sorted by
    organization when it has that column."""
    if frame is None or len(frame) == 0:
        return dg.MetadataValue.md(empty)
    if columns is None:
        columns = {c: c for c in frame.columns}
    elif not isinstance(columns, Mapping):
        columns = {c: c for c in columns}
    columns = {k: v for k, v in columns.items() if k in frame.columns}
    if "organization_id" in frame.columns:
        frame = frame.sort_values("organization_id", kind="stable", na_position="first")
    head = frame.head(limit)
    # an id or count column that a missing value made float (pandas does) still reads as whole numbers
    whole = {name for name in columns if head[name].dtype.kind == "f"
             and all(float(v).is_integer() for v in head[name].dropna())}
    rows = [{heading: _whole(row[name]) if name in whole else row[name] for name, heading in columns.items()}
            for row in head.to_dict("records")]
    return dg.MetadataValue.md(markdown(rows, list(columns.values()), empty=empty, more=len(frame) - len(head)))


def _whole(value: Any) -> Any:
    return value if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def totals_by_organization(result: Any, totals: Callable[[Any], Mapping[str, Mapping[str, Any]]],
                           fields: Mapping[str, str]) -> dg.MetadataValue:
    """Organization | Currency | <fields>: `totals(result.for_organization(org))` per organization
    (`{currency: {field: value}}`), so no amount is summed across organizations or currencies."""
    ids = list(result.organization_ids())
    rows = []
    for org in ids[:MAX_ORGANIZATIONS]:
        for currency, values in totals(result.for_organization(org)).items():
            rows.append({"Organization": int(org), "Currency": currency,
                         **{heading: values.get(key) for key, heading in fields.items()}})
    return dg.MetadataValue.md(markdown(rows, ["Organization", "Currency", *fields.values()],
                                        empty="no organizations", more=max(0, len(ids) - MAX_ORGANIZATIONS)))


def summary_by_organization(result: Any, summarize: Callable[[Any], Mapping[str, Any]],
                            fields: Mapping[str, str]) -> dg.MetadataValue:
    """Organization | <fields>: `summarize(result.for_organization(org))` per organization."""
    ids = list(result.organization_ids())
    rows = []
    for org in ids[:MAX_ORGANIZATIONS]:
        values = summarize(result.for_organization(org))
        rows.append({"Organization": int(org), **{heading: values.get(key) for key, heading in fields.items()}})
    return dg.MetadataValue.md(markdown(rows, ["Organization", *fields.values()], empty="no organizations",
                                        more=max(0, len(ids) - MAX_ORGANIZATIONS)))
