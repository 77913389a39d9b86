"""The environment this project reads (DESIGN.md "Configuration"), in one place."""

from __future__ import annotations

import os

from sqlalchemy.engine import URL

from reporting_dagster.lib.infra import db
from reporting_dagster.lib.infra.env import env_number


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
# one renderer per usable core, as many as the memory holds at REPORTS_RENDER_WORKER_MEMORY_MB each
# (README "Rendering limits" has the measured peaks the default comes from)
DEFAULT_RENDER_WORKER_MEMORY_MB = 1024
MEMORY_HEADROOM = 0.75  # of the machine's (or container's) memory: the rest is the step's own and the OS's
DEFAULT_MAX_CELL_CHARS = 2000
MIN_MAX_CELL_CHARS = 100


def render_timeout_seconds() -> float:
    """`REPORTS_RENDER_TIMEOUT_SECONDS`: wall time one file may take to render (default 300)."""
    return float(env_number("REPORTS_RENDER_TIMEOUT_SECONDS", DEFAULT_RENDER_TIMEOUT_SECONDS, minimum=0.1))


def max_file_bytes() -> int:
    """`REPORTS_MAX_FILE_BYTES`: the largest file a render may produce (default 200 MiB)."""
    return int(env_number("REPORTS_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES, integer=True, minimum=1))


def render_worker_memory_mb() -> int:
    """`REPORTS_RENDER_WORKER_MEMORY_MB`: the memory budgeted per renderer process (default 1024)."""
    return int(env_number("REPORTS_RENDER_WORKER_MEMORY_MB", DEFAULT_RENDER_WORKER_MEMORY_MB, integer=True,
                          minimum=64))


def steps_sharing_the_machine() -> int:
    """Dagster processes that render on this machine at once: the multiprocess executor's steps
    (`REPORTS_EXECUTOR_MAX_CONCURRENT`, 0 = the cores), else this one. Celery workers on one host
    each count as one: set `REPORTS_RENDER_WORKERS` there (README "Production: across machines")."""
    from reporting_dagster.lib.infra import capacity

    if os.environ.get("REPORTS_EXECUTOR", "").strip().lower() != "multiprocess":
        return 1
    steps = int(env_number("REPORTS_EXECUTOR_MAX_CONCURRENT", 0, integer=True, minimum=0))
    return steps or capacity.cores()


def default_render_workers() -> int:
    """One per usable core, at most as many as this process's share of 75 % of the memory holds at
    the per-worker budget (the share: the memory divided by the steps rendering at once)."""
    from reporting_dagster.lib.infra import capacity

    budget = render_worker_memory_mb() * 2**20
    fits = int(capacity.memory_bytes() * MEMORY_HEADROOM // steps_sharing_the_machine() // budget)
    return max(1, min(capacity.cores(), fits))


def render_workers() -> int:
    """`REPORTS_RENDER_WORKERS`: renderer processes per Dagster process (default
    `default_render_workers()`), so organizations render side by side and one slow tenant holds
    one worker, never all."""
    return int(env_number("REPORTS_RENDER_WORKERS", default_render_workers(), integer=True, minimum=1))


def max_cell_chars() -> int:
    """`REPORTS_RENDER_MAX_CELL_CHARS`: PDF/HTML show at most this many characters of a cell (default 2000)."""
    return int(env_number("REPORTS_RENDER_MAX_CELL_CHARS", DEFAULT_MAX_CELL_CHARS, integer=True,
                          minimum=MIN_MAX_CELL_CHARS))


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def csv_bom() -> bool:
    """`REPORTS_CSV_BOM`: CSV files start with a UTF-8 byte order mark, so Excel reads non-ASCII
    names right (default on; `false` for consumers that cannot skip it). A report template's
    template_config "csv_bom" overrides it for that template's reports."""
    raw = os.environ.get("REPORTS_CSV_BOM", "").strip().lower()
    if not raw or raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"REPORTS_CSV_BOM={raw!r} is not true or false; set it like REPORTS_CSV_BOM=false "
                     f"or leave it unset for CSV files with a byte order mark")


def check_environment() -> None:
    """Read every rendering limit once, so a bad value stops the code location from loading."""
    render_timeout_seconds()
    max_file_bytes()
    render_worker_memory_mb()
    render_workers()
    max_cell_chars()
    csv_bom()
