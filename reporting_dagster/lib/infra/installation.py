"""This database's installation token (migration 0005), the seed of every store key's token.

Each database gets a random token when it is migrated, so two databases writing into one store
(production and a staging database rebuilt from scratch, whose generated_report ids overlap)
build different keys. A database restored from another's dump, or cloned from it as a
template, shares that database's token until `reporting-dagster db new-token` gives it its own;
its keys still differ for new rows, since the key also carries the row's created_at (lib/infra/store.py).

The token is read once per engine and cached; a process that keeps an engine open across
`db new-token` goes on using the old token (its keys stay unique), new engines use the new one.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.infra.paths import read_named_sql

_SQL = read_named_sql("installation.sql")
_TOKENS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
_UNDEFINED_TABLE = "42P01"


class InstallationTokenMissing(LookupError):
    """The database has no installation token; the message says which command fixes it."""


def installation_token(engine: Engine) -> str:
    token = _TOKENS.get(engine)
    if token is None:
        with _table_required():
            with engine.connect() as conn:
                token = conn.execute(sa.text(_SQL["read_token"])).scalar_one_or_none()
        if not token:
            raise InstallationTokenMissing(
                "reporting_installation has no token, so report file keys cannot be built: "
                "run `reporting-dagster db new-token`")
        _TOKENS[engine] = token
    return token


def new_token(engine: Engine) -> str:
    """Give this database a new random token (after restoring it from another's dump)."""
    with _table_required():
        with engine.begin() as conn:
            token = conn.execute(sa.text(_SQL["new_token"])).scalar_one()
    _TOKENS.pop(engine, None)
    return token


@contextlib.contextmanager
def _table_required() -> Iterator[None]:
    try:
        yield
    except sa.exc.ProgrammingError as exc:
        if (getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)) == _UNDEFINED_TABLE:
            raise InstallationTokenMissing(
                "the reporting_installation table is missing, so report file keys cannot be built: "
                "run `reporting-dagster db upgrade`") from None
        raise
