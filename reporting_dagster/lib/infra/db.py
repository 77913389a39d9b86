"""Connections to the platform database: URL normalisation, the embedded server, chunked reads."""

from __future__ import annotations

import gc
import math
import queue
import threading
from contextlib import contextmanager
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pandas._libs import lib as pandas_lib
from pandas.errors import DatabaseError
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
    """Stream a query as DataFrames of at most `chunk_rows` rows (server-side cursor), each typed
    like `read_frame`'s whole result. NUMERIC columns stay `decimal.Decimal`: money is never a float."""
    with _streamed_rows(engine, sql, params, chunk_rows) as (columns, oids, chunks):
        empty = True
        for rows in chunks:
            empty = False
            builder = ColumnBuilder(oids)
            builder.add(rows)
            yield builder.frame(columns)
        if empty:  # as pandas' chunked read_sql: one empty frame that has the columns
            yield ColumnBuilder(oids).frame(columns)


def read_frame(
    engine: Engine,
    sql: str,
    params: Mapping[str, Any] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> pd.DataFrame:
    """The whole result of a query as one DataFrame (columns kept, all `object`, when empty).

    Rows are fetched `chunk_rows` at a time and each chunk goes column by column into
    `ColumnBuilder`; the frame is built once at the end with the types of reading the result in
    one go (`pd.read_sql`): int64 (float64 when a NULL is present), bool, `str`, Decimal/date
    objects, datetime64 in UTC. No chunk frames and no concatenated copy of them.
    """
    with (_streamed_rows(engine, sql, params, chunk_rows) as (columns, oids, chunks), _no_cyclic_gc(),
          _read_ahead(chunks) as ahead):
        builder = ColumnBuilder(oids)
        for rows in ahead:
            builder.add(rows)
            del rows
    return builder.frame(columns)


_T = TypeVar("_T")


@contextmanager
def _read_ahead(items: Iterator[_T], depth: int = 2) -> Iterator[Iterator[_T]]:
    """`items` read by a thread, at most `depth` ahead of the caller: the next FETCH waits on the
    server (the GIL released) while the caller converts the chunk before it — 11 % off a 1M-row
    extract (README "Benchmarks"). An error of the reader is raised in the caller, as it was
    raised; leaving early stops the reader after its current item (the connection is only ever
    used by one thread at a time: the caller closes it after the reader is done)."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            put(("error", exc))
            return
        put(("done", None))

    def taken() -> Iterator[_T]:
        while True:
            kind, value = box.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value

    reader = threading.Thread(target=read, name="extract-read-ahead", daemon=True)
    reader.start()
    try:
        yield taken()
    finally:
        stop.set()
        reader.join()


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while a result is read: a million row tuples make it
    run again and again over every value read so far (half the CPU time of a 1M-row extract),
    and rows have no cycles to collect. Reference counting frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _streamed_rows(
    engine: Engine, sql: str, params: Mapping[str, Any] | None, chunk_rows: int
) -> Iterator[tuple[list[str], list[Any], Iterator[list[tuple[Any, ...]]]]]:
    """(column names, column type oids, chunks of row tuples) of a query on a server-side cursor.

    `cursor_tuple_fraction = 1` for this transaction: PostgreSQL plans a cursor for its first 10 %
    of rows by default (nested loops), 3.4x slower to read the whole time_entries extract than the
    plan of a plain query. The statement runs through SQLAlchemy, so statement timeouts and lost
    connections fail as they always did: an error of the statement (or of its first row) as
    pandas' `DatabaseError` quoting the SQL, an error while fetching as SQLAlchemy's
    `OperationalError` naming no statement. The chunks are read from the DB-API cursor directly
    (plain tuples, no SQLAlchemy Row per row); its errors go through SQLAlchemy's own handler.
    """
    with engine.connect() as conn:
        conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
        stream = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows)
        try:
            result = stream.execute(sa.text(sql), dict(params or {}))
        except Exception as exc:  # the message pandas.read_sql gave: db_errors reads it
            raise DatabaseError(f"Execution failed on sql '{sql}': {exc}") from exc
        columns = list(result.keys())
        description = result.cursor.description if result.cursor is not None else None
        oids = [d[1] for d in description] if description else [None] * len(columns)

        def chunks() -> Iterator[list[tuple[Any, ...]]]:
            if not result.returns_rows:
                return
            first = [tuple(row) for row in result.fetchmany(1)]  # the row SQLAlchemy already holds
            cursor = result.cursor
            while True:
                try:
                    rows = cursor.fetchmany(chunk_rows - len(first)) if cursor is not None else []
                except Exception as exc:  # noqa: BLE001 - re-raised by SQLAlchemy, as a fetch of its own would be
                    conn._handle_dbapi_exception(exc, None, None, cursor, result.context)  # noqa: SLF001
                rows = first + rows if first else rows
                first = []
                if not rows:
                    return
                yield rows

        yield columns, oids, chunks()
        result.close()


# PostgreSQL type oids by what `pd.read_sql`'s inference makes of their values
_INTEGER_OIDS = frozenset({20, 21, 23})  # int8, int2, int4: int64, float64 with a NULL, object when all NULL
_BOOL_OID = 16  # bool; object when a NULL is present
_TEXT_OIDS = frozenset({19, 25, 1042, 1043})  # name, text, bpchar, varchar: str values
_OBJECT_OIDS = frozenset({1082, 1700})  # date, numeric: date and Decimal objects, never converted
_TEXT_DTYPE = pd.Series(["text"]).dtype  # what this pandas infers for str values (`str`, or object before 3.0)


class ColumnBuilder:
    """The columns of a result, chunk by chunk, typed at the end as `pd.read_sql` types a whole result.

    Each chunk of row tuples becomes one 2-D object array (pandas' own C transposition, the one
    `DataFrame.from_records` uses: ~5x faster than `zip(*rows)`), and each column of it is kept as
    the piece it will be: an int64 or bool array at once when the chunk holds no NULL, else the
    objects. Types known from the column's oid skip pandas' per-value inference (it would reach
    the same type); any other column (timestamps, floats, arrays, json …) gets the inference.
    """

    def __init__(self, oids: list[Any]):
        self.oids = list(oids)
        self.pieces: list[list[np.ndarray]] = [[] for _ in self.oids]
        self.typed = [oid in _INTEGER_OIDS or oid == _BOOL_OID for oid in self.oids]  # every piece numpy-typed so far
        self.count = 0

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        block = pandas_lib.to_object_array_tuples(rows)
        self.count += len(rows)
        for i, oid in enumerate(self.oids):
            self.pieces[i].append(self._piece(i, oid, block[:, i]))

    def _piece(self, i: int, oid: Any, column: np.ndarray) -> np.ndarray:
        if self.typed[i]:
            if oid == _BOOL_OID:
                if not any(value is None for value in column):
                    return column.astype(np.bool_)
            else:
                try:
                    return column.astype(np.int64)
                except TypeError:  # a NULL: this column ends as float64 (or object when all NULL)
                    pass
            self.typed[i] = False
        return column.copy()  # contiguous: the chunk's block is freed once every column is taken

    def frame(self, columns: list[str]) -> pd.DataFrame:
        if self.count == 0:
            return pd.DataFrame(columns=columns)
        series = {}
        for i, oid in enumerate(self.oids):
            series[i] = self._series(i, oid)
            self.pieces[i] = []  # each column's pieces freed as soon as it is converted
        frame = pd.DataFrame(series, copy=False)
        frame.columns = columns
        for i, dtype in enumerate(frame.dtypes):
            if isinstance(dtype, pd.DatetimeTZDtype):  # as pandas.read_sql: timestamps with a zone in UTC
                frame.isetitem(i, pd.to_datetime(frame.iloc[:, i], utc=True))
        return frame

    def _series(self, i: int, oid: Any) -> pd.Series:
        pieces = self.pieces[i]
        if self.typed[i]:  # integers or booleans without a NULL
            return pd.Series(np.concatenate(pieces) if len(pieces) > 1 else pieces[0], copy=False)
        values = np.concatenate([piece.astype(object) for piece in pieces])
        if all(value is None for value in values):  # stops at the first value: NULL throughout is rare
            return pd.Series(values, dtype=object)
        if oid in _INTEGER_OIDS:
            return pd.Series(values.astype(np.float64), copy=False)  # None becomes NaN
        if oid in _TEXT_OIDS:
            return pd.Series(values, dtype=_TEXT_DTYPE, copy=False)
        if oid in _OBJECT_OIDS:
            return pd.Series(values, dtype=object, copy=False)
        return pd.Series(values.tolist(), dtype=None)  # booleans with NULLs, timestamps, anything else
