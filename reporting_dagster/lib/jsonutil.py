"""JSON for the database and metadata: Decimal as exact strings, dates as ISO 8601; and the
bounded reader every json/jsonb value the driver fetches goes through (`database_loads`)."""

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


DATABASE_JSON_DEPTH = 64  # far beyond any real template_config, recipients or summary_data


class UnreadableJson(str):
    """What a json/jsonb value nested too deeply to parse safely reads as: a plain text that says
    so, which every reader treats as a bad value (an invalid recipient, unusable parameters)."""


def too_deep(text: str, limit: int) -> bool:
    """Whether JSON text nests arrays/objects more than `limit` levels (a linear scan that skips
    strings), so the parser is never handed something it would recurse on past Python's limit."""
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot nest that deep: no scan
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def database_loads(data: str | bytes) -> Any:
    """json.loads for values read from the database (registered on every connection by
    lib/infra/db.py). The platform's JSONB columns hold what its users sent: one value 5,000
    levels deep would otherwise raise RecursionError inside the driver, which no caller can
    attribute to a row, and stop a whole sensor tick, pack or delivery round."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray, memoryview)) else data
    if too_deep(text, DATABASE_JSON_DEPTH):
        return UnreadableJson(f"(unreadable JSON: nested more than {DATABASE_JSON_DEPTH} levels)")
    return json.loads(text)
