"""Versioned schema migrations from `sql/migrations/NNNN_name.sql`.

Each file runs once, in its own transaction, and is recorded in `reporting_schema_version`
with its checksum. The files themselves are conditional (IF NOT EXISTS, and the helpers of
`sql/migration_helpers.sql`, loaded into the session first), so an existing platform database
gains only what it lacks. `sql/migration_finish.sql` runs after every upgrade, even when no
migration was pending: it follows what the platform may have changed since (row-level security).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.infra.limits import DatabaseLimits, milliseconds
from reporting_dagster.lib.infra.paths import MIGRATIONS_DIR, SQL_DIR

VERSION_TABLE = "reporting_schema_version"
_LOCK_KEY = 7_405_112_019  # pg_advisory_xact_lock key: one migrator at a time
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
HELPERS = SQL_DIR / "migration_helpers.sql"
FINISH = SQL_DIR / "migration_finish.sql"
# A live platform keeps transactions open on its tables: an ALTER waiting behind one would queue
# every later reader of that table behind itself. Give up after this long instead and say to retry;
# the migration's transaction leaves nothing behind.
LOCK_TIMEOUT_MS = 10_000
# A migration may build an index on a large platform table: longer than the statement timeout of
# every other connection (REPORTS_DB_STATEMENT_TIMEOUT_SECONDS), so its transaction sets its own.
MIGRATION_TIMEOUT_VARIABLE = "REPORTS_DB_MIGRATION_STATEMENT_TIMEOUT_SECONDS"


def _migration_timeout(conn: sa.Connection) -> None:
    """Set this transaction's statement timeout to the migrations' own (first: it also covers the
    wait for another migrator's advisory lock)."""
    ms = milliseconds(DatabaseLimits.from_env().migration_statement_timeout)
    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(ms)}")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def apply(self, conn: sa.Connection) -> None:
        """Run this migration in the connection's transaction, with the session helpers loaded."""
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
        run_script(conn, HELPERS.read_text(encoding="utf-8"))
        run_script(conn, self.sql)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class MigrationError(RuntimeError):
    pass


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_snake_case.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError("two migration files share a version number")
    return found


def applied_versions(engine: Engine) -> dict[int, str]:
    with engine.begin() as conn:
        _ensure_version_table(conn)
        rows = conn.execute(sa.text(f"SELECT version, checksum FROM {VERSION_TABLE}"))
        return {int(v): c for v, c in rows}


def upgrade(engine: Engine, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply every migration not yet recorded; return the ones applied (empty when current)."""
    applied: list[Migration] = []
    for migration in discover(directory):
        with engine.begin() as conn:
            _migration_timeout(conn)
            _ensure_version_table(conn)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            done = conn.execute(
                sa.text(f"SELECT checksum FROM {VERSION_TABLE} WHERE version = :v"),
                {"v": migration.version},
            ).scalar_one_or_none()
            if done is not None:
                continue
            try:
                migration.apply(conn)
            except Exception as exc:  # the raw driver's error (run_script) or SQLAlchemy's wrapper
                sqlstate = getattr(getattr(exc, "orig", exc), "sqlstate", None)
                if sqlstate == "55P03":  # lock_not_available
                    raise MigrationError(
                        f"{migration.path.name}: a table it changes is locked by another transaction "
                        "(the platform is busy); nothing was changed — run `reporting-dagster db upgrade` "
                        "again when the platform is quieter") from None
                if sqlstate == "57014":  # query_canceled: the statement timeout
                    raise MigrationError(
                        f"{migration.path.name}: a statement ran longer than the migrations' statement timeout "
                        f"({MIGRATION_TIMEOUT_VARIABLE}); nothing was changed — raise it (0 = no limit) and run "
                        "`reporting-dagster db upgrade` again") from None
                raise
            conn.execute(
                sa.text(
                    f"INSERT INTO {VERSION_TABLE} (version, name, checksum) VALUES (:v, :n, :c)"
                ),
                {"v": migration.version, "n": migration.name, "c": migration.checksum},
            )
            applied.append(migration)
    with engine.begin() as conn:
        _migration_timeout(conn)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
        run_script(conn, FINISH.read_text(encoding="utf-8"))
    return applied


def pending(engine: Engine, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    done = applied_versions(engine)
    return [m for m in discover(directory) if m.version not in done]


def run_script(conn: sa.Connection, script: str) -> None:
    """Run a whole SQL file in the connection's transaction, as written: no parameters, so the
    driver leaves `%I` of format() alone."""
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(script)


def _ensure_version_table(conn: sa.Connection) -> None:
    conn.execute(
        sa.text(
            f"""
            CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
                version     INTEGER PRIMARY KEY,
                name        VARCHAR(200) NOT NULL,
                checksum    CHAR(64) NOT NULL,
                applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """
        )
    )
