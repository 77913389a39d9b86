"""Seeded databases for the benchmarks: created once on a server, reused while their seed matches.

The server is REPORTING_BENCH_DATABASE_URL, else REPORTING_TEST_DATABASE_URL, else the embedded
one of `make demo`. A database `bench_<name>` carries its seed options (and the month they were
seeded in) as its comment; a different comment means it is dropped and seeded again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time

import sqlalchemy as sa
from sqlalchemy.engine import URL

from reporting_dagster.lib.infra import db, migrate
from reporting_dagster.lib.operations.demo_seed import SeedOptions, seed


def server_url() -> URL:
    for name in ("REPORTING_BENCH_DATABASE_URL", "REPORTING_TEST_DATABASE_URL"):
        if os.environ.get(name, "").strip():
            return db.normalize_url(os.environ[name])
    return db.embedded_url()


def _fingerprint(options: SeedOptions) -> str:
    fields = {k: v for k, v in dataclasses.asdict(options).items() if k not in ("today", "replace")}
    month = options.resolved_today().replace(day=1).isoformat()
    import hashlib
    import inspect

    from reporting_dagster.lib.operations import demo_seed

    code = hashlib.sha256(inspect.getsource(demo_seed).encode()).hexdigest()[:12]
    return json.dumps({"seed": fields, "month": month, "migrations": migrate_head(), "seed_code": code}, sort_keys=True)


def migrate_head() -> str:
    """The newest migration, with a hash of every migration script: a changed script reseeds."""
    import hashlib

    found = migrate.discover()
    digest = hashlib.sha256("".join(m.path.read_text(encoding="utf-8") for m in found).encode()).hexdigest()[:12]
    return f"{found[-1].version}-{digest}"


def seeded_database(name: str, options: SeedOptions) -> str:
    """The URL (password included) of `bench_<name>`, seeded with `options`."""
    server = server_url()
    database = f"bench_{name}"
    wanted = _fingerprint(options)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            comment = conn.execute(sa.text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"), {"n": database}
            ).first()
            if comment is not None and comment[0] == wanted:
                return server.set(database=database).render_as_string(hide_password=False)
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
        url = server.set(database=database)
        engine = db.create_engine(url)
        started = time.perf_counter()
        migrate.upgrade(engine)
        counts = seed(engine, options)
        engine.dispose()
        print(f"  seeded {database} in {time.perf_counter() - started:.0f}s "
              f"({sum(counts.values()):,d} rows, {counts.get('time_entry', 0):,d} of them time entries)",
              flush=True)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"COMMENT ON DATABASE \"{database}\" IS '{wanted}'")
        return url.render_as_string(hide_password=False)
    finally:
        admin.dispose()


def last_month(today: dt.date | None = None) -> str:
    first = (today or dt.date.today()).replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")
