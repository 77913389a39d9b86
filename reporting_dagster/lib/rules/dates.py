"""Dates as the rules compare them: whatever a DataFrame cell holds → a plain `datetime.date`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from reporting_dagster.lib.money import is_missing


def plain_date(value: Any) -> dt.date | None:
    """None for a missing value; a datetime or Timestamp's day; a date as it is."""
    if is_missing(value) or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()
