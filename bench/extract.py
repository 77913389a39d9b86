"""The `time_entries` extract: ours (`db.read_frame`, what `PlatformDatabase.extract` runs) against
draining the same query's rows as COPY BINARY bytes (the least any client can do: nothing parsed)
and against `fetchall` into one dict per row. Units: rows. The tables are ANALYZEd in the setup
(not timed) so every variant gets the plan of a database whose statistics are current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from bench.harness import Case, Size, Target, Variant
from reporting_dagster.lib.operations.demo_seed import SeedOptions

DEFAULT = SeedOptions(orgs=10, months=3, scale=80)  # ~210k time entries
HEAVY = SeedOptions(orgs=10, months=3, scale=400)  # ~1.05M time entries (issue 11's 1.05M-row figure)
PARAMS = {"date_from": dt.date(1900, 1, 1), "date_to": dt.date(2999, 12, 31)}  # every entry
MAX_TIME_RATIO = 2.0  # issue 11 item 5: at most 2x the COPY drain


def _setup(database_url: str):
    from reporting_dagster.lib.infra import db
    from reporting_dagster.lib.infra.platform_schema import extract_sql

    engine = db.create_engine(database_url)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE time_entry, task, member, project")
        conn.commit()
    return engine, extract_sql(engine, "time_entries")


def ours(database_url: str) -> Callable[[], dict]:
    from reporting_dagster.lib.infra import db

    engine, sql = _setup(database_url)

    def timed() -> dict:
        frame = db.read_frame(engine, sql, PARAMS)
        return {"units": len(frame)}

    return timed


def _driver_sql(engine: sa.Engine, sql: str) -> tuple[str, dict]:
    compiled = sa.text(sql).compile(dialect=engine.dialect)
    return compiled.string, compiled.construct_params(PARAMS)


def copy_binary_drain(database_url: str) -> Callable[[], dict]:
    engine, sql = _setup(database_url)
    query, params = _driver_sql(engine, sql)
    with engine.connect() as conn:  # the row count, for units (COPY bytes carry no row count here)
        rows = conn.exec_driver_sql(f"SELECT count(*) FROM ({query}) AS q", params).scalar()

    def timed() -> dict:
        with engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
                for _block in copy:
                    pass
        return {"units": rows}

    return timed


def fetchall_dicts(database_url: str) -> Callable[[], dict]:
    engine, sql = _setup(database_url)

    def timed() -> dict:
        with engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(sa.text(sql), PARAMS).mappings().fetchall()]
        return {"units": len(rows)}

    return timed


def cases(size: Size) -> list[Case]:
    name, options = ("extract_heavy", HEAVY) if size.heavy else ("extract", DEFAULT)
    url = size.database_url(name, options)
    args = {"database_url": url}
    return [Case(
        "extract_time_entries", "rows",
        (Variant("ours", "bench.extract:ours", args),
         Variant("copy_binary_drain", "bench.extract:copy_binary_drain", args),
         Variant("fetchall_dicts", "bench.extract:fetchall_dicts", args)),
        (Target("time_ratio", "<=", MAX_TIME_RATIO, baseline="copy_binary_drain"),),
        note=f"time_entries of {options.orgs} orgs × {options.months} months at --scale {options.scale}",
    )]
