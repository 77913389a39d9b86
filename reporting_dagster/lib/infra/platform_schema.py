"""What the connected platform database has, and the SQL fragments that follow from it.

A production platform has migrated beyond SOURCE_SCHEMA.md Part A (Part A+): expected-invoice
versions (`is_current`), an `invoice_direction` on the invoice headers and the stored comparison.
Our migrations never add these columns to the platform's tables (its own later migration would
then collide with ours), so the extracts ask the database at run time and are rendered with the
answer: `{{ platform.current('h') }}` and `{{ platform.direction('h', 'received_invoice_header') }}`
in `sql/extracts/*.sql`. Only column names reach the SQL; values stay bound parameters. Pieces
several extracts share live in `sql/fragments/` and are included by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from reporting_dagster.lib.infra.paths import FRAGMENTS_DIR, read_sql

PAYABLE = "payable"
RECEIVABLE = "receivable"
DIRECTIONS = (PAYABLE, RECEIVABLE)
DIRECTION_LABELS = {PAYABLE: "Payable", RECEIVABLE: "Receivable"}
DIRECTION_TITLES = {PAYABLE: "Payable: contractor invoices",
                    RECEIVABLE: "Receivable: calculated vs issued client invoices"}

_TABLES = ("expected_invoice_header", "received_invoice_header", "invoice_comparison", "invoice_header")
_COLUMNS_SQL = sa.text(
    "SELECT table_name::text, column_name::text FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND table_name IN :tables "
    "AND column_name IN ('is_current', 'invoice_direction')"
).bindparams(sa.bindparam("tables", expanding=True))
# `{% include "x.sql" %}` takes a shared piece of SQL from sql/fragments/ (one definition, several extracts)
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(FRAGMENTS_DIR), undefined=jinja2.StrictUndefined,
                          autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class PlatformSchema:
    """The Part A+ columns present, as (table, column) pairs."""

    columns: frozenset[tuple[str, str]] = frozenset()

    def has(self, table: str, column: str) -> bool:
        return (table, column) in self.columns

    def current(self, alias: str) -> str:
        """A condition true for current expected-invoice versions (every header where no versions exist).
        NULL-safe for a LEFT JOINed alias: no header there is not a superseded one."""
        if self.has("expected_invoice_header", "is_current"):
            return f"COALESCE({alias}.is_current, true)"
        return "true"

    def direction(self, alias: str, table: str) -> str:
        """The row's direction as text; 'payable' where the platform has no direction (Part A)."""
        if self.has(table, "invoice_direction"):
            return f"COALESCE(CAST({alias}.invoice_direction AS text), '{PAYABLE}')"
        return f"'{PAYABLE}'"


def by_direction(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The frame's rows per direction present, payable first (totals never mix directions)."""
    if "invoice_direction" not in frame:
        return [(PAYABLE, frame)] if len(frame) else []
    return [(d, frame[frame["invoice_direction"] == d]) for d in DIRECTIONS if (frame["invoice_direction"] == d).any()]


def direction_prefix(direction: str, labelled: bool) -> str:
    """'Receivable ' before a currency where two directions could be confused; nothing otherwise."""
    return f"{DIRECTION_LABELS[direction]} " if labelled else ""


def inspect(bind: Engine | Connection) -> PlatformSchema:
    """Ask the database which Part A+ columns it has (one catalogue query)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return inspect(conn)
    rows = bind.execute(_COLUMNS_SQL, {"tables": list(_TABLES)})
    return PlatformSchema(frozenset((t, c) for t, c in rows))


def render(sql: str, schema: PlatformSchema) -> str:
    """An extract's SQL with the schema's fragments filled in."""
    if "{{" not in sql and "{%" not in sql:
        return sql
    return _ENV.from_string(sql).render(platform=schema)


def extract_sql(bind: Engine | Connection, name: str) -> str:
    """`sql/extracts/<name>.sql` rendered for the connected database."""
    return render(read_sql(name), inspect(bind))
