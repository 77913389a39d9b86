"""Billing periods: the platform's `billing_period` row behind a monthly partition."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from reporting_dagster.lib.infra import db
from reporting_dagster.lib.infra.paths import read_sql


class BillingPeriodNotFound(LookupError):
    pass


@dataclass(frozen=True)
class BillingPeriod:
    id: int
    name: str
    start_date: dt.date
    end_date: dt.date  # inclusive

    @property
    def key(self) -> str:
        return f"{self.start_date:%Y-%m}"

    def as_json(self) -> dict[str, str]:
        return {"key": self.key, "name": self.name, "start": self.start_date.isoformat(),
                "end": self.end_date.isoformat()}


def month_bounds(partition_key: str) -> tuple[dt.date, dt.date]:
    """'2026-10' → (2026-10-01, 2026-10-31)."""
    try:
        start = dt.datetime.strptime(partition_key, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"billing period keys look like YYYY-MM, got {partition_key!r}") from None
    return start, month_end(start)


def month_end(day: dt.date) -> dt.date:
    """The last day of `day`'s month."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def resolve(engine: Engine, partition_key: str) -> BillingPeriod:
    """The billing_period row whose dates are the partition's month; a clear error when absent."""
    start, end = month_bounds(partition_key)
    frame = db.read_frame(engine, read_sql("billing_period_by_dates"), {"start_date": start, "end_date": end})
    if frame.empty:
        raise BillingPeriodNotFound(
            f"The platform has no billing_period row for {partition_key} "
            f"(start_date {start}, end_date {end}). Create it in the platform (or run "
            f"`reporting-dagster demo seed` for demo data) and run the partition again."
        )
    row = frame.iloc[0]
    return BillingPeriod(int(row["id"]), str(row["name"]), row["start_date"], row["end_date"])
