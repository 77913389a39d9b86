"""Decimal money helpers. Money is Decimal end to end; rounding happens at presentation only."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pandas as pd

ZERO = Decimal("0")
CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def to_decimal(value: Any, what: str = "value") -> Decimal:
    """Parse a config or user value into Decimal, refusing floats' binary noise and junk."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what} must be a decimal number such as 0.01, got {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return result


def dsum(values: Iterable[Any]) -> Decimal:
    """Exact sum of Decimals, skipping missing values."""
    total = ZERO
    for v in values:
        if v is not None and not (isinstance(v, float) and v != v) and v is not pd.NA:
            total += v
    return total


def half_up(value: Decimal | None, places: str = "0.01") -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def percent_of(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    """part / whole × 100, half-up to 2 dp; None when whole is 0 or missing."""
    if part is None or whole is None or whole == ZERO:
        return None
    return half_up(part / whole * HUNDRED)


def is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)
