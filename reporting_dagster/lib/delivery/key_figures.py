"""The few numbers a report e-mail shows, read from the report's own summary (summary_data).

The summary is what the pipeline already computed for the file (totals per currency, counts of
invoices, pairs per status, hours): the e-mail repeats it, it never computes anything of its own.
Amounts stay per currency (never added across), rounded half-up to 2 decimals only here, at
presentation. Every value is data: the HTML part escapes it (lib/delivery/mail.py).
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from reporting_dagster.lib.documents import labels
from reporting_dagster.lib.jsonutil import too_deep

MAX_SUMMARY_CHARS = 200_000  # a larger summary_data is not read for an e-mail
MAX_LINES = 12
MAX_CURRENCIES = 6
_CURRENCY_KEYS = (("currencies", ""), ("receivable_currencies", "receivable "))
_STATUS_LABELS = {code: words.lower() for code, words in labels.COMPARISON_VERDICTS.items()}  # "3 not received"
_SKIPPED = {"check_warnings", "left_out", "no_data", "as_of_date", "date_from", "date_to", "rows",
            "by_line_type", "receivable_by_line_type", "unpriced_projects"}


def load_summary(text: Any) -> dict[str, Any]:
    """summary_data (JSON text or an already parsed dict) as a dict; anything unreadable → {}."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str) or len(text) > MAX_SUMMARY_CHARS or too_deep(text, 64):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def label(key: str) -> str:
    """`open_amount` → `Open amount`."""
    words = str(key).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        number = Decimal(repr(value))
        return number if number.is_finite() else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def figure(key: str, value: Any) -> str | None:
    """One value as a person reads it: counts (JSON integers) as whole numbers, amounts and hours
    (decimal strings: summary_data keeps Decimal as text) with 2 decimals, half-up, and thousands
    separators, percentages with a % sign; None when not a number."""
    number = _number(value)
    if number is None:
        return None
    if _is_count(value) and not ("percent" in key or key.endswith("_pct")):
        return f"{int(number):,d}"
    try:
        rounded = number.quantize(Decimal("0.01"), ROUND_HALF_UP)
    except InvalidOperation:  # beyond the context's precision: not a figure for an e-mail
        return None
    return f"{rounded:,.2f} %" if "percent" in key or key.endswith("_pct") else f"{rounded:,.2f}"


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ordered(values: dict[str, Any]) -> list[tuple[str, Any]]:
    """Amounts, hours and percentages first, then the counts, each in the summary's order (jsonb
    keeps keys in an order of its own); a count of zero says nothing and is left out."""
    kept = [(k, v) for k, v in values.items() if not (_is_count(v) and v == 0)]
    return sorted(kept, key=lambda kv: _is_count(kv[1]))


def _split_comparison(values: dict[str, Any]) -> list[str]:
    """A comparison currency as its cards show it: the variance of the paired invoices apart from
    what was not received and not expected (their sums are not a variance)."""
    parts = []
    paired = values["paired"]
    if (variance := figure("variance", paired.get("variance"))) is not None:
        percent = figure("variance_percent", paired.get("variance_percent"))
        pairs = figure("pairs", paired.get("pairs")) or "0"
        parts.append(f"Paired ({pairs}): variance {variance}" + (f" ({percent})" if percent else ""))
    for key, title, amount in (("not_received", "Not received", "expected"), ("not_expected", "Not expected", "received")):
        group = values.get(key)
        if isinstance(group, dict) and _is_count(group.get("pairs")) and group["pairs"]:
            text = figure(amount, group.get(amount))
            parts.append(f"{title} ({group['pairs']:,d})" + (f": {amount} {text}" if text else ""))
    return parts


def key_figures(summary: dict[str, Any]) -> list[str]:
    """Lines like `ZAR: Open amount 1,234.56 · Overdue amount 500.00 · Invoices 3`, then the
    report's counts (`Outstanding invoices: 12`, `Pairs by status: 3 matched · 1 overbilled`)."""
    lines: list[str] = []
    if summary.get("no_data"):
        lines.append("No data for this period.")
    for key, prefix in _CURRENCY_KEYS:
        currencies = summary.get(key)
        if not isinstance(currencies, dict):
            continue
        for currency, values in list(currencies.items())[:MAX_CURRENCIES]:
            if not isinstance(values, dict):
                continue
            parts = _split_comparison(values) if isinstance(values.get("paired"), dict) else \
                [f"{label(k)} {text}" for k, v in _ordered(values) if (text := figure(k, v)) is not None]
            if parts:
                lines.append(f"{prefix}{currency}: " + " · ".join(parts))
    for key, value in _ordered(summary):
        if key in _SKIPPED or key in dict(_CURRENCY_KEYS):
            continue
        if key == "status_counts" and isinstance(value, dict):
            counts = [f"{int(n):,d} {_STATUS_LABELS.get(s, label(s).lower())}" for s, n in value.items()
                      if isinstance(n, int) and not isinstance(n, bool) and n]
            if counts:
                lines.append("By status: " + " · ".join(counts))
            continue
        text = figure(key, value)
        if text is not None:
            lines.append(f"{label(key)}: {text}")
    left_out = summary.get("left_out")
    if isinstance(left_out, list) and left_out:
        lines.append(f"Rows left out (failed checks): {len(left_out)} findings, see the report")
    return lines[:MAX_LINES]
