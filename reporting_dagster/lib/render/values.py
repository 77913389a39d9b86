"""Presentation helpers shared by every renderer: typed cell values in, text or exact values out.

Money stays `Decimal` until here; rounding is half-up to 2 decimals (or to the decimals a
catalogue column's format asks for, e.g. '0.00####' for unit prices) and happens only when a value
is presented. Two textual forms exist: plain (`money`, for CSV and JSON: `-1234.50`) and display
(`display_money`, for PDF and HTML: `-1,234.50`).

CSV formula guard (`csv_guard`): a spreadsheet may split a line on `,`, `;`, tab or line breaks,
whatever the file's quoting says, so a formula can start inside a cell, not only at its start.
Every position where a field could begin — the cell's start and the character after each `;`,
`,`, tab, CR and LF — is looked at past any spaces and `"`; where the text there begins with
`=`, `+`, `-`, `@` (or their full-width forms U+FF1D, U+FF0B, U+FF0D, U+FF20) a `'` is put
right before that character, so every field a split can produce starts as text. A cell starting
with a tab or CR also gets a leading `'`. Tabs inside a cell become spaces (a tab splits the
cell on TSV import); CR and LF stay (RFC 4180 quotes them and spreadsheets read them as in-cell
line breaks). Only text is guarded: the CSV renderer writes numbers (money, decimals, integers)
untouched, so `-5.00` stays `-5.00`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pandas as pd

from reporting_dagster.lib.documents.catalog import Column
from reporting_dagster.lib.render.document import TableData

CENT = Decimal("0.01")
MONEY_TYPES = frozenset({"currency", "decimal"})
DEFAULT_BRAND_COLOR = "#1F4E79"
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# where a split may start a field: the cell's start or after ; , tab CR LF, then spaces and quotes;
# a formula starter there (ASCII or full-width) gets a ' right before it
_CSV_FORMULA_AT = re.compile(r'(^|[;,\t\r\n])((?:[^\S\t\r\n]|")*)(?=[=+\-@\uff1d\uff0b\uff0d\uff20])')
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


# ---------------------------------------------------------------------------------------------
# normalisation: whatever a DataFrame holds → None | bool | int | Decimal | date | datetime | str


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    if isinstance(value, Decimal):
        return value.is_nan()
    return value is pd.NA or value is pd.NaT


def normalize(value: Any) -> Any:
    """A plain Python value: numpy/pandas scalars unwrapped, missing values as None."""
    if is_missing(value):
        return None
    if isinstance(value, (str, bool, int, Decimal)):
        return value
    if isinstance(value, dt.datetime):  # pd.Timestamp is a datetime
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        return value
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return normalize(value.item())
    return value


def to_decimal(value: Any) -> Decimal | None:
    """A Decimal for a money/decimal cell; floats go through repr (no binary noise)."""
    value = normalize(value)
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None


# ---------------------------------------------------------------------------------------------
# numbers


def decimal_2dp(value: Any) -> Decimal | None:
    """The value half-up to 2 decimals (None stays None)."""
    d = to_decimal(value)
    if d is None:
        return None
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


_PLACES_FORMAT = re.compile(r"[#,]*0?\.(0*)(#*)")


def decimal_places(column: Column | None) -> tuple[int, int]:
    """(fewest, most) decimals of a decimal/currency column, from its catalogue format.

    '0.00' → (2, 2) (the default, also for no column or any other format), '0.0000' → (4, 4),
    '0.00##' → (2, 4): a unit price of 0.0825 keeps its 4 decimals, 12500 shows as 12500.00.
    """
    match = _PLACES_FORMAT.fullmatch((column.format if column is not None else None) or "")
    if not match or not (match.group(1) or match.group(2)):
        return 2, 2
    return len(match.group(1)), len(match.group(1)) + len(match.group(2))


def scaled(value: Any, column: Column | None = None) -> Decimal | None:
    """The value half-up to the column's decimals (2 by default); None stays None."""
    fewest, most = decimal_places(column)
    d = to_decimal(value)
    if d is None:
        return None
    d = d.quantize(Decimal(1).scaleb(-most), rounding=ROUND_HALF_UP)
    if fewest < most:
        trimmed = d.normalize()
        d = d.quantize(Decimal(1).scaleb(-fewest)) if trimmed.as_tuple().exponent > -fewest else trimmed
    return d


def money(value: Any, column: Column | None = None) -> str:
    """Plain 2-decimal text (or the column's decimals), half-up, no separator: `-160.00`; '' for None."""
    d = scaled(value, column)
    if d is None:
        return ""
    if d == 0:
        d = abs(d)  # no "-0.00"
    return format(d, "f")


def display_money(value: Any, column: Column | None = None) -> str:
    """2-decimal text (or the column's decimals) with thousands separators: `-1,234.50`; '' for None."""
    d = scaled(value, column)
    if d is None:
        return ""
    if d == 0:
        d = abs(d)
    return format(d, ",f")


def display_percent(value: Any) -> str:
    text = display_money(value)
    return f"{text}%" if text else ""


def display_integer(value: Any) -> str:
    value = normalize(value)
    if value is None:
        return ""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value)


def is_percent_column(column: Column) -> bool:
    """The catalogue has no percent type: a decimal column whose key or label says percent."""
    return column.type in MONEY_TYPES and (
        column.key.endswith("_percent") or column.key.endswith("_pct") or column.label.rstrip().endswith("%")
    )


# ---------------------------------------------------------------------------------------------
# dates and times


def iso_date(value: Any) -> str:
    value = normalize(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def utc(value: dt.datetime) -> dt.datetime:
    """Timezone-aware UTC (a naive timestamp is taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def iso_timestamp(value: dt.datetime) -> str:
    """ISO 8601 in UTC: `2026-11-05T10:30:00+00:00`."""
    return utc(value).isoformat()


def display_timestamp(value: dt.datetime) -> str:
    return utc(value).strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------------------------------------
# text


def text(value: Any) -> str:
    value = normalize(value)
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return iso_date(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def csv_guard(value: str) -> str:
    """Neutralise spreadsheet formula injection in a text cell (see the module docstring): a `'`
    before every formula starter that could begin a field after any split, tabs as spaces."""
    if not value:
        return value
    guarded = _CSV_FORMULA_AT.sub(r"\1\2'", value).replace("\t", " ")
    if value[0] in "\t\r" and not guarded.startswith("'"):
        guarded = "'" + guarded
    return guarded


def one_line(value: Any) -> str:
    """Text with every line break replaced by a space (for metadata lines and titles)."""
    return _LINE_BREAKS.sub(" ", text(value))


def truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: max(limit - 1, 1)] + "…"


def safe_color(value: Any, default: str = DEFAULT_BRAND_COLOR) -> str:
    """A #RRGGBB colour, or the default when the value is anything else (it ends up in CSS)."""
    if isinstance(value, str) and _HEX_COLOR.fullmatch(value.strip()):
        return value.strip().upper()
    return default


def tint(color: str, amount: float) -> str:
    """The colour mixed with white (amount 0 → colour, 1 → white)."""
    color = safe_color(color)
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(c + (255 - c) * amount) for c in rgb]
    return "#" + "".join(f"{c:02X}" for c in mixed)


# ---------------------------------------------------------------------------------------------
# cells by catalogue column


def plain_cell(value: Any, column: Column) -> str:
    """A cell as plain text (CSV): money 2 dp half-up, ISO dates, '' for None. Not guarded."""
    value = normalize(value)
    if value is None:
        return ""
    if column.type in MONEY_TYPES:
        return money(value, column)
    if column.type == "integer":
        return display_integer(value)
    if column.type == "date":
        return iso_date(value)
    return text(value)


def display_cell(value: Any, column: Column) -> str:
    """A cell as people read it (PDF/HTML): thousands separators, % for percent columns."""
    value = normalize(value)
    if value is None:
        return ""
    if column.type in MONEY_TYPES:
        return display_percent(value) if is_percent_column(column) else display_money(value, column)
    if column.type == "integer":
        return display_integer(value)
    if column.type == "date":
        return iso_date(value)
    return text(value)


def table_records(data: TableData, extra: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The rows of a table as dicts of normalised values: catalogue columns plus `extra` columns.

    Every catalogue column must be present in the frame; `extra` columns that are absent are
    skipped.
    """
    frame = data.rows
    wanted = [c.key for c in data.table.columns]
    missing = [k for k in wanted if k not in frame.columns]
    if missing:
        raise ValueError(f"table {data.key!r} rows lack catalogue columns: {', '.join(missing)}")
    keys = list(dict.fromkeys([*wanted, *(k for k in extra if k and k in frame.columns)]))
    columns = [[normalize(v) for v in frame[k].tolist()] for k in keys]
    return [dict(zip(keys, values)) for values in zip(*columns)] if keys else []


def group_value(value: Any) -> Any:
    """A hashable, type-tolerant key for matching child rows to parent rows (1 == 1.0 == '1')."""
    value = normalize(value)
    if value is None:
        return None
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return format(d.normalize(), "f") if d == d.to_integral_value() else str(d)
    return str(value)


def parameter_pairs(doc_parameters: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), "" if v is None else text(v)) for k, v in doc_parameters.items()]


# ---------------------------------------------------------------------------------------------
# per-column converters (XLSX/CSV of large tables): the functions above, with the column's
# format looked up once instead of once per cell; same results value for value


def column_scaler(column: Column | None):
    """`lambda value: scaled(value, column)` with the column's decimals resolved once."""
    fewest, most = decimal_places(column)
    most_q = Decimal(1).scaleb(-most)
    fewest_q = Decimal(1).scaleb(-fewest)

    def scale(value: Any) -> Decimal | None:
        d = value if type(value) is Decimal and value.is_finite() else to_decimal(value)
        if d is None:
            return None
        d = d.quantize(most_q, rounding=ROUND_HALF_UP)
        if fewest < most:
            trimmed = d.normalize()
            d = d.quantize(fewest_q) if trimmed.as_tuple().exponent > -fewest else trimmed
        return d

    return scale


def fast_normalize(value: Any) -> Any:
    """`normalize`, with the common exact types (str, int, Decimal, date) returned at once."""
    if value is None:
        return None
    kind = type(value)
    if kind is str or kind is int or kind is dt.date or kind is bool:
        return value
    if kind is Decimal:
        return None if value.is_nan() else value
    return normalize(value)


def column_values(frame: pd.DataFrame, key: str) -> list[Any]:
    """A frame column as plain values (`normalize` on each, as `table_records` does)."""
    return [fast_normalize(v) for v in frame[key].tolist()]


# characters without which `csv_guard` returns its text unchanged
CSV_GUARD_CHARS = re.compile("[=+\\-@\uff1d\uff0b\uff0d\uff20\t\r]")


_CSV_SPLITS = re.compile("[;,\t\r\n]")
_CSV_STARTERS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def csv_guard_text(value: str) -> str:
    """`csv_guard`, returning at once the (most common) text it would leave as it is: text without
    a formula starter or a tab, or text without a split character whose start (past spaces and
    quotes) is no formula starter ('INV-1001', 'a@b.example')."""
    if not CSV_GUARD_CHARS.search(value):
        return value
    if not _CSV_SPLITS.search(value):
        i = 0
        while i < len(value) and (value[i] == '"' or value[i].isspace()):
            i += 1
        if i == len(value) or value[i] not in _CSV_STARTERS:
            return value
    return csv_guard(value)


def column_money(column: Column | None):
    """`lambda value: money(value, column)` with the column's decimals resolved once, and a finite
    Decimal done as text: quantized half-up to the most decimals, trailing zeros down to the
    fewest trimmed off the 'f' text (not by `normalize`), no "-0.00". The CSV's hot loop."""
    fewest, most = decimal_places(column)
    step = Decimal(1).scaleb(-most)
    trim = most - fewest

    def money_text(value: Any) -> str:
        if type(value) is Decimal and value.is_finite():
            text = format(value.quantize(step, rounding=ROUND_HALF_UP), "f")
            if trim:
                stripped = text.rstrip("0")
                text = text[:max(len(stripped), len(text) - trim)]
                if text[-1] == ".":
                    text = text[:-1]
            if text[0] == "-" and not text.strip("-0."):
                text = text[1:]
            return text
        return money(value, column)

    return money_text
