"""JSON for the database and metadata: Decimal as exact strings, dates as ISO 8601."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any


def default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=default, ensure_ascii=False, sort_keys=True)


def to_jsonable(value: Any) -> Any:
    return json.loads(dumps(value))
