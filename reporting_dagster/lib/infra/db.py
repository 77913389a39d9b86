"""Connections to the platform database: URL normalisation, the embedded server, chunked reads."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from reporting_dagster.lib.infra.limits import DatabaseLimits, milliseconds
from reporting_dagster.lib import jsonutil
from reporting_dagster.lib.infra.paths import state_dir

DEFAULT_CHUNK_ROWS = 20_000


class DatabaseConfigError(ValueError):
    """The database URL cannot be used; the message says what to fix."""


def normalize_url(url: str) -> URL:
    """Accept libpq-style `postgresql://` URLs as well as SQLAlchemy driver URLs.

    `postgres://` and `postgresql://` get the psycopg (v3) driver; an explicit driver is kept.
    """
    text = url.strip()
    text = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", text)
    try:
        parsed = make_url(text)
    except Exception as exc:  # noqa: BLE001 - re-raised with a clear message, without the URL
        raise DatabaseConfigError(
            "REPORTING_DATABASE_URL is not a valid database URL; expected e.g. "
            "postgresql://user@host:5432/dbname"
        ) from exc
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseConfigError(
            f"REPORTING_DATABASE_URL must point at PostgreSQL, not {parsed.get_backend_name()!r}"
        )
    return parsed


def embedded_server_dir() -> Path:
    return state_dir() / "pgdata"


def embedded_url(database: str = "postgres") -> URL:
    """Start (or reuse) the embedded PostgreSQL under `.reporting/pgdata` and return its URL.

    The server outlives this process (cleanup_mode=None) so Dagster's run workers and the
    CLI share one server; `reporting-dagster db stop` stops it.
    """
    import warnings

    with warnings.catch_warnings():  # platformdirs complains when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only the embedded default needs it

    pgdata = embedded_server_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    return normalize_url(server.get_uri(database))


def stop_embedded() -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    pgdata = embedded_server_dir()
    if not (pgdata / "postmaster.pid").exists():
        return False
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    server.cleanup()
    return True


# TCP keepalives: a database host that vanishes without a word (a network partition, a killed VM)
# is noticed after about 30 + 3 × 10 s of silence instead of hanging a read for hours.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def connect_args(url: URL, limits: DatabaseLimits) -> dict[str, Any]:
    """libpq settings of every connection: connect timeout, keepalives, and a statement and an
    idle-in-transaction timeout as session options. What the URL's query sets itself wins."""
    given = set(url.query)
    args: dict[str, Any] = {k: v for k, v in _KEEPALIVES.items() if k not in given}
    if "connect_timeout" not in given:
        # libpq takes whole seconds, and treats anything under 2 as 2
        args["connect_timeout"] = max(2, math.ceil(limits.connect_timeout))
    ours = (f"-c statement_timeout={milliseconds(limits.statement_timeout)} "
            f"-c idle_in_transaction_session_timeout={milliseconds(limits.idle_in_transaction_timeout)}")
    theirs = url.query.get("options")
    theirs = " ".join(theirs) if isinstance(theirs, tuple) else theirs
    args["options"] = f"{ours} {theirs}" if theirs else ours  # a later -c of the same name wins
    return args


def create_engine(url: str | URL, limits: DatabaseLimits | None = None) -> Engine:
    """An engine whose connections time out (README "Timeouts and retries"); `limits` defaults to
    the REPORTS_DB_* variables."""
    parsed = url if isinstance(url, URL) else normalize_url(url)
    limits = limits or DatabaseLimits.from_env()
    engine = sa.create_engine(parsed, pool_pre_ping=True, future=True, connect_args=connect_args(parsed, limits))
    sa.event.listen(engine, "connect", _bounded_json)
    return engine


def _bounded_json(dbapi_connection: Any, _record: Any) -> None:
    """Every json/jsonb value this connection fetches is read by `jsonutil.database_loads`: a
    value nested too deeply becomes a marked bad value of its row, never a RecursionError."""
    from psycopg.types.json import set_json_loads

    set_json_loads(jsonutil.database_loads, dbapi_connection)


def safe_url_text(url: URL) -> str:
    """The URL with its password hidden, for logs and metadata."""
    return url.render_as_string(hide_password=True)


def read_frames(
    engine: Engine,
    sql: str,
    params: Mapping[str, Any] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Stream a query as DataFrames of at most `chunk_rows` rows (server-side cursor).

    NUMERIC columns stay `decimal.Decimal` (coerce_float=False): money is never a float.
    """
    with engine.connect() as conn:
        conn = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows)
        yield from pd.read_sql_query(
            sa.text(sql), conn, params=dict(params or {}), chunksize=chunk_rows, coerce_float=False
        )


def read_frame(
    engine: Engine,
    sql: str,
    params: Mapping[str, Any] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> pd.DataFrame:
    """The whole result of a streamed query as one DataFrame (columns kept when empty)."""
    chunks = list(read_frames(engine, sql, params, chunk_rows))
    if len(chunks) == 1:
        return chunks[0]
    if not chunks:
        with engine.connect() as conn:
            cols = list(conn.execute(sa.text(f"SELECT * FROM ({sql}) AS q LIMIT 0"), dict(params or {})).keys())
        return pd.DataFrame(columns=cols)
    return pd.concat(chunks, ignore_index=True)
