"""A request's own values as typed, bounded Python values, checked without the database.

Everything a user or the platform writes into a generated_report row arrives here first: the
`parameters` JSON (read as text, so no JSON parser ever recurses into 5,000 levels), dates,
months, ids, decimals, enum values. Each check either returns a typed value inside its bounds
or raises `InvalidRequest` with a message that names the field, the allowed values and what
was given (shortened): never a Python class name, never an overflow further down.

Bounds (README "Requests and schedules"): `parameters` at most MAX_PARAMETERS_BYTES and
MAX_JSON_DEPTH levels; dates from MIN_DATE to MAX_DATE; ids 1 … 2^63−1 (PostgreSQL BIGINT);
decimals finite, at most MAX_NUMBER_CHARS characters, inside their parameter's range
(DECIMAL_RANGES; tolerances: absolute 0 … 1,000,000,000, percent 0 … 100).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from reporting_dagster.lib import jsonutil

MAX_PARAMETERS_BYTES = 16_384
MAX_JSON_DEPTH = 8
MAX_TEXT_CHARS = 200
MAX_NUMBER_CHARS = 40
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
MAX_ID = 2**63 - 1
# (lowest, highest) a decimal parameter may take, both inclusive; other decimals: DEFAULT_RANGE
DECIMAL_RANGES = {
    "tolerance_absolute": (Decimal(0), Decimal(1_000_000_000)),
    "tolerance_percent": (Decimal(0), Decimal(100)),
}
DEFAULT_RANGE = (Decimal(0), Decimal(1_000_000_000_000))
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_JSON_KINDS = {str: "a string", list: "a list", bool: "true or false", int: "a number", float: "a number",
               Decimal: "a number"}


class InvalidRequest(ValueError):
    """A request the user must correct; the message says how."""


def shown(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: as JSON (the form the platform wrote it in), cut to `limit`
    characters."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        text = str(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `parameters` nests more than `limit` levels (lib/jsonutil.py)."""
    return jsonutil.too_deep(text, limit)


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def parse_json(text: str | None, *, size: int | None = None, exact: bool = True) -> Any:
    """The value of bounded JSON text; InvalidRequest when too large, too deep or not JSON.
    `exact`: numbers become int (up to 19 digits) or Decimal, never float (no inf, no binary
    noise); else as json.loads reads them (for audit details, which keep the row's own JSON)."""
    if text is None and size is None:
        return None
    size = size if size is not None else len(text.encode("utf-8"))
    if text is None or size > MAX_PARAMETERS_BYTES:
        raise InvalidRequest(f"parameters is too large ({size} bytes; at most {MAX_PARAMETERS_BYTES}); "
                             "give only the report's parameters")
    if too_deep(text):
        raise InvalidRequest(f"parameters is nested too deeply (more than {MAX_JSON_DEPTH} levels); "
                             'give a flat JSON object such as {"group_by": "project"}')
    try:
        if not exact:
            return json.loads(text)
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant,
                          parse_int=lambda s: int(s) if len(s.lstrip("-")) <= 19 else Decimal(s))
    except ValueError:
        raise InvalidRequest('parameters is not valid JSON; give a JSON object such as {"group_by": "project"}') from None


def parameters_object(text: str | None, *, size: int | None = None) -> dict[str, Any]:
    """The row's `parameters` as a dict (NULL or JSON null: no parameters)."""
    value = parse_json(text, size=size)
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), "not an object")
        raise InvalidRequest(f"parameters must be a JSON object such as {{\"group_by\": \"project\"}}, "
                             f"got {kind}: {shown(value)}")
    return value


def date_value(name: str, value: Any) -> dt.date:
    """A YYYY-MM-DD date between MIN_DATE and MAX_DATE."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        if not isinstance(value, str) or not _DATE.match(value):
            raise InvalidRequest(f"{name} must be a date like 2026-01-31, got {shown(value)}")
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidRequest(f"{name} must be a date like 2026-01-31, got {shown(value)}") from None
    if not MIN_DATE <= value <= MAX_DATE:
        raise InvalidRequest(f"{name} must be between {MIN_DATE} and {MAX_DATE}, got {value}")
    return value


def month_value(value: Any, name: str = "billing_period") -> str:
    """A YYYY-MM month inside the date bounds."""
    found = _MONTH.match(value) if isinstance(value, str) else None
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise InvalidRequest(f"{name} must look like 2026-01, got {shown(value)}")
    if not MIN_DATE.year <= int(found.group(1)) <= MAX_DATE.year:
        raise InvalidRequest(f"{name} must be between {MIN_DATE:%Y-%m} and {MAX_DATE:%Y-%m}, got {value}")
    return value


def id_value(label: str, value: Any) -> int:
    """A positive whole number that fits PostgreSQL's BIGINT."""
    ident: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        ident = value
    elif isinstance(value, str) and _DIGITS.match(value.strip()):
        ident = int(value.strip())
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value() \
            and abs(value.adjusted()) < 20:
        ident = int(value)
    if ident is None or not 1 <= ident <= MAX_ID:
        raise InvalidRequest(f"{label} must be a positive whole number up to {MAX_ID}, got {shown(value)}")
    return ident


def decimal_value(name: str, value: Any) -> Decimal:
    """A finite decimal inside the parameter's range (DECIMAL_RANGES)."""
    low, high = DECIMAL_RANGES.get(name, DEFAULT_RANGE)
    allowed = f"a number from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidRequest(f"{name} must be {allowed}, got {shown(value)}")
    text = str(value).strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidRequest(f"{name} must be {allowed}, got {shown(value)}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidRequest(f"{name} must be {allowed}, got {shown(value)}") from None
    if not number.is_finite() or not low <= number <= high:
        raise InvalidRequest(f"{name} must be {allowed}, got {shown(value)}")
    return number


def enum_value(name: str, value: Any, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise InvalidRequest(f"{name} must be one of {', '.join(options)}, got {shown(value)}")
    return value


def text_value(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
        raise InvalidRequest(f"{name} must be text of at most {MAX_TEXT_CHARS} characters, got {shown(value)}")
    return value


def readable_parameters(text: str | None) -> Any:
    """The parameters for an audit event's details: the object when it is readable and bounded,
    else None (an event is written whatever the row holds)."""
    try:
        return parse_json(text, exact=False)
    except (InvalidRequest, ValueError):
        return None
