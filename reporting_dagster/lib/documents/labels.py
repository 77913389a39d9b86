"""Words for people, codes for machines: the one catalogue of display labels.

The data carries codes (`missing_expected`, `OM_FEE`, `1_30`, `payable`, `group_by=all`); PDF,
HTML and XLSX show the words from here, JSON and CSV keep the codes (JSON adds a `labels` map of
the codes it holds, the comparison CSV a words column next to its line type and verdict). A code
this catalogue does not know is shown humanised (`WIND_BONUS` → "Wind bonus"), never blank and
never an error; text that is already words ("O&M Fee") is shown as it is.

Internal database ids (`header_id`, `pair_id`, `customer_id` …) identify rows for machines: they
stay in JSON, CSV and XLSX, and are never shown in PDF/HTML (`is_internal_id`); an id parameter
is shown by the name it selects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

# the platform's invoice_line_item_type names (the invoice listings already show them)
LINE_TYPES = {
    "ENERGY": "Energy",
    "CAPACITY": "Capacity",
    "LD_CREDIT": "Liquidated Damages Credit",
    "OM_FEE": "O&M Fee",
    "ANCILLARY": "Ancillary Services",
    "SPARE_PARTS": "Spare Parts",
    "UNTYPED": "No line type",
}
# the platform's invoice_status enum
INVOICE_STATUSES = {"draft": "Draft", "verified": "Verified", "sent": "Sent", "disputed": "Disputed", "paid": "Paid"}
# the comparison's verdicts and the platform's stored invoice_comparison_status
COMPARISON_VERDICTS = {
    "matched": "Matched",
    "overbilled": "Overbilled",
    "underbilled": "Underbilled",
    "missing_received": "Not received",
    "missing_expected": "Not expected",
    "unchecked": "Unchecked",
}
AGING_BUCKETS = {"current": "Current", "1_30": "1-30 Days", "31_60": "31-60 Days", "61_90": "61-90 Days",
                 "90_plus": "90+ Days"}
DIRECTIONS = {"payable": "Payable", "receivable": "Receivable"}
GROUP_BY = {"member": "Team member", "project": "Project", "date": "Date", "all": "Member, project and date"}
STATUSES = {**INVOICE_STATUSES, **COMPARISON_VERDICTS}

# catalogue column key → the vocabulary of the codes it holds
CODED_COLUMNS: dict[str, Mapping[str, str]] = {
    "status": STATUSES,
    "stored_status": COMPARISON_VERDICTS,
    "line_type": LINE_TYPES,
    "invoice_direction": DIRECTIONS,
    "bucket": AGING_BUCKETS,
    "bucket_label": AGING_BUCKETS,
}
# request parameter name → the vocabulary of its values
CODED_PARAMETERS: dict[str, Mapping[str, str]] = {"group_by": GROUP_BY, "direction": DIRECTIONS}

# the CSV of these tables gets "<label> (in words)" right after these columns: their codes are
# not words a person reads in a spreadsheet (the other coded CSV columns already are: paid, payable)
CSV_WORDS_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("invoice_comparison", "lines"): ("line_type", "status"),
    ("invoice_comparison", "invoices"): ("status", "stored_status"),
}
CSV_WORDS_SUFFIX = " (in words)"

SEVERITIES = {"WARN": "Warning", "ERROR": "Error"}
# summary values that are codes: key → vocabulary (an empty one: every value humanised, e.g. a
# data-quality check's name `line_totals_match_headers` → "Line totals match headers")
SUMMARY_VALUE_VOCABULARIES: dict[str, Mapping[str, str]] = {**CODED_PARAMETERS, "severity": SEVERITIES, "check": {}}

# summary keys (the JSON summary's, shown on the XLSX Summary sheet) → what a person reads
SUMMARY_KEYS = {
    "as_of_date": "As of",
    "date_from": "From",
    "date_to": "To",
    "group_by": "Grouped by",
    "currencies": "Totals by currency",
    "receivable_currencies": "Receivable totals by currency",
    "by_line_type": "Line totals by line type",
    "receivable_by_line_type": "Receivable line totals by line type",
    "status_counts": "Invoices by status",
    "stored_disagreements": "Stored verdict disagrees",
    "pairs": "Invoice pairs",
    "lines": "Lines",
    "invoices": "Invoices",
    "outstanding_invoices": "Outstanding invoices",
    "customers": "Customers",
    "no_due_date": "Without a due date",
    "open_amount": "Open amount",
    "overdue_amount": "Overdue amount",
    "buckets": "Aging buckets",
    "count": "Invoices",
    "amount": "Amount",
    "lines_total": "Sum of lines",
    "credits": "Credits",
    "mismatched_invoices": "Total differs from lines",
    "metered": "Metered quantity by unit",
    "expected": "Expected",
    "received": "Received",
    "variance": "Variance",
    "variance_percent": "Variance %",
    "total_hours": "Total hours",
    "billable_hours": "Billable hours",
    "non_billable_hours": "Non-billable hours",
    "billable_percent": "Billable %",
    "entry_count": "Entries",
    "members": "Team members",
    "projects": "Projects",
    "days": "Days",
    "rows": "Rows",
    "revenue": "Revenue",
    "cost": "Cost",
    "margin": "Margin",
    "margin_percent": "Margin %",
    "unpriced_billable_hours": "Billable hours without a rate",
    "unpriced_projects": "Projects without a rate",
    "check_warnings": "Data warnings",
    "left_out": "Left out of this report",
    "check": "Check",
    "severity": "Severity",
    "message": "Message",
}
# summary dicts keyed by something other than a field: the header of that key's column
SUMMARY_KEY_HEADERS = {"currencies": "Currency", "receivable_currencies": "Currency", "by_line_type": "Currency",
                       "receivable_by_line_type": "Currency", "metered": "Unit", "buckets": "Bucket"}
# summary dicts whose keys are codes of a vocabulary
SUMMARY_KEY_VOCABULARIES: dict[str, Mapping[str, str]] = {
    "status_counts": STATUSES, "buckets": AGING_BUCKETS, "by_line_type": LINE_TYPES,
    "receivable_by_line_type": LINE_TYPES,
}
# summary values that are quantities (exact decimal text in the JSON): numbers on the Summary sheet
QUANTITY_KEYS = frozenset({"metered"})

_CODE = re.compile(r"[A-Za-z0-9]+(?:[_\-][A-Za-z0-9]+)*")
_ID_ENTITY = {"customer": ("customer_name", "counterparty_name"), "contract": ("contract_name",),
              "project": ("project_name",), "member": ("member_name",)}
_MONTH = re.compile(r"\d{4}-\d{2}")


def humanize(code: Any) -> str:
    """A code as words: `missing_expected` → "Missing expected", `WIND_BONUS` → "Wind bonus";
    text that is not a code (has spaces, mixed case like "O&M Fee") is returned as it is."""
    value = "" if code is None else str(code)
    if not _CODE.fullmatch(value) or not ("_" in value or value.islower() or value.isupper()):
        return value
    words = value.replace("_", " ").strip()
    if words.isupper() or words.islower():
        words = words.lower()
    return words[:1].upper() + words[1:]


def label(vocabulary: Mapping[str, str] | None, code: Any) -> str:
    """The vocabulary's word for `code`, else its humanised form; '' only for None/''."""
    if code is None:
        return ""
    key = str(code)
    if vocabulary is not None and key in vocabulary:
        return vocabulary[key]
    return humanize(key)


def is_coded(column_key: str) -> bool:
    return column_key in CODED_COLUMNS


def cell_label(column_key: str, value: Any) -> Any:
    """The words for a coded column's value (e.g. status `missing_expected` → "Not expected");
    any other column's value unchanged."""
    vocabulary = CODED_COLUMNS.get(column_key)
    if vocabulary is None or value is None or not isinstance(value, str):
        return value
    return label(vocabulary, value)


def column_words(column_key: str, codes: list[Any], names: list[Any] | None = None) -> list[Any]:
    """`cell_label` of a whole column, each distinct code looked up once; `names` (a line type's
    platform name per row, when the rows carry it) win over the catalogue's words."""
    seen: dict[str, Any] = {}
    out: list[Any] = []
    for i, code in enumerate(codes):
        name = names[i] if names is not None else None
        if type(name) is str and name.strip():
            out.append(name)
        elif type(code) is str:
            word = seen.get(code)
            if word is None:
                word = seen[code] = cell_label(column_key, code)
            out.append(word)
        else:
            out.append(code)
    return out


def is_internal_id(column_key: str) -> bool:
    """A database id column (`header_id`, `pair_id`, …): for machines, never on a PDF/HTML page."""
    return column_key == "id" or column_key.endswith("_id")


def summary_label(key: Any, within: str | None = None) -> str:
    """A summary key as words; inside a coded summary dict (`within`, e.g. status_counts) the
    key is a code of that dict's vocabulary."""
    vocabulary = SUMMARY_KEY_VOCABULARIES.get(within or "")
    if vocabulary is not None:
        return label(vocabulary, key)
    text = str(key)
    return SUMMARY_KEYS.get(text) or humanize(text).replace("_", " ")


def is_percent_key(key: Any) -> bool:
    return str(key).endswith(("_percent", "_pct"))


def month_words(key: str) -> str:
    """`2026-11` → "November 2026" (anything else as it is)."""
    if _MONTH.fullmatch(key or ""):
        try:
            return dt.date(int(key[:4]), int(key[5:]), 1).strftime("%B %Y")
        except ValueError:
            return key
    return key


def _name_from_rows(entity: str, tables: Iterable[Any]) -> str | None:
    """The one name an id filter selects, read from the document's rows (None if not exactly one)."""
    for data in tables:
        frame = getattr(data, "rows", None)
        for column in _ID_ENTITY.get(entity, ()):
            if frame is not None and column in getattr(frame, "columns", ()):
                names = {str(v) for v in frame[column].dropna().tolist() if str(v).strip()}
                if len(names) == 1:
                    return names.pop()
    return None


def parameter_items(definition: Any, parameters: Mapping[str, Any], tables: Iterable[Any] = ()) -> list[tuple[str, str]]:
    """The request's parameters as (label, words) for PDF/HTML/XLSX: enum values as words, the
    billing period as its month, an id filter as the name it selects (from a `<entity>_name`
    parameter or the rows), never as the id; empty values left out."""
    labels = {p.name: p.label for p in getattr(definition, "parameters", ())}
    tables = list(tables)
    out: list[tuple[str, str]] = []
    named = {f"{str(k)[:-3]}_name" for k in parameters if is_internal_id(str(k))}  # shown with their id's label
    for key, raw in parameters.items():
        value = "" if raw is None else str(raw)
        if not value:
            continue
        name = str(key)
        if is_internal_id(name):
            entity = name[:-3]
            title = labels.get(name) or humanize(entity)
            selected = parameters.get(f"{entity}_name") or _name_from_rows(entity, tables)
            out.append((title, str(selected) if selected else f"the selected {entity}"))
            continue
        if name in named:
            continue
        title = labels.get(name) or summary_label(name)
        if name in CODED_PARAMETERS:
            value = label(CODED_PARAMETERS[name], value)
        elif name == "billing_period":
            value = month_words(value)
        elif name.endswith("_percent"):
            value = f"{value}%"
        out.append((title, value))
    return out
