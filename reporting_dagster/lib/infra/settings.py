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


# ---------------------------------------------------------------------------------------------
# rendering limits (README "Rendering limits"): every file renders in a worker process under a
# wall-time and a size budget, and PDF/HTML cut absurdly long cells

DEFAULT_RENDER_TIMEOUT_SECONDS = 300.0  # ~100x the slowest legitimate PDF measured (see README)
DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024
DEFAULT_RENDER_WORKERS = 1
DEFAULT_MAX_CELL_CHARS = 2000
MIN_MAX_CELL_CHARS = 100


def _number(name: str, default: float, *, integer: bool, minimum: float, example: str) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or value != value or value in (float("inf"), float("-inf")) or value < minimum:
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"{name} must be {kind} of at least {minimum:g} (e.g. {example}), got {raw!r}")
    return value


def render_timeout_seconds() -> float:
    """`REPORTS_RENDER_TIMEOUT_SECONDS`: wall time one file may take to render (default 300)."""
    return float(_number("REPORTS_RENDER_TIMEOUT_SECONDS", DEFAULT_RENDER_TIMEOUT_SECONDS, integer=False,
                         minimum=0.1, example="300"))


def max_file_bytes() -> int:
    """`REPORTS_MAX_FILE_BYTES`: the largest file a render may produce (default 200 MiB)."""
    return int(_number("REPORTS_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES, integer=True, minimum=1,
                       example="209715200"))


def render_workers() -> int:
    """`REPORTS_RENDER_WORKERS`: renderer processes per Dagster process (default 1)."""
    return int(_number("REPORTS_RENDER_WORKERS", DEFAULT_RENDER_WORKERS, integer=True, minimum=1, example="2"))


def max_cell_chars() -> int:
    """`REPORTS_RENDER_MAX_CELL_CHARS`: PDF/HTML show at most this many characters of a cell (default 2000)."""
    return int(_number("REPORTS_RENDER_MAX_CELL_CHARS", DEFAULT_MAX_CELL_CHARS, integer=True,
                       minimum=MIN_MAX_CELL_CHARS, example="2000"))
