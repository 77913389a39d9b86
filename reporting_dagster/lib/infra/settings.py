"""The environment this project reads (DESIGN.md "Configuration"), in one place."""

from __future__ import annotations

import os

from sqlalchemy.engine import URL

from reporting_dagster.lib.infra import db


def database_url() -> URL:
    """`REPORTING_DATABASE_URL` when set, else the embedded server (started on demand)."""
    configured = os.environ.get("REPORTING_DATABASE_URL", "").strip()
    if configured:
        return db.normalize_url(configured)
    return db.embedded_url()


DEFAULT_FIRST_BILLING_PERIOD = "2024-01"  # the platform pre-seeds billing periods from January 2024


def first_billing_period() -> str:
    """`REPORTS_FIRST_BILLING_PERIOD` (YYYY-MM): the first month the partition set offers.

    Months before the platform's first billing period can only fail, so a deployment whose
    platform starts later sets this (`reporting-dagster db first-period` prints the value).
    """
    value = os.environ.get("REPORTS_FIRST_BILLING_PERIOD", "").strip() or DEFAULT_FIRST_BILLING_PERIOD
    import datetime as dt

    try:
        dt.datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise ValueError(f"REPORTS_FIRST_BILLING_PERIOD must look like YYYY-MM (e.g. 2024-01), got {value!r}") from None
    return value
