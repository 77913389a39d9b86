"""Can the connected role read the platform tables? Asked before a run reads them.

The production platform enables row-level security on its core tables with policies for its
own roles only. A login that is neither the owner nor BYPASSRLS and matches no policy reads
**zero rows without an error**: a run would succeed with empty files. So every run that reads
platform tables first asks PostgreSQL's catalogue whether RLS would hide rows from this role,
or whether it lacks SELECT, and fails with the tables and the statements that fix it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

# What the extracts and requests read (SOURCE_SCHEMA.md Parts A, B and C).
READ_TABLES = (
    "organization", "currency", "counterparty", "project", "contract", "billing_period", "invoice_line_item_type",
    "meter_aggregate", "invoice_header", "invoice_line_item", "expected_invoice_header",
    "expected_invoice_line_item", "received_invoice_header", "received_invoice_line_item", "invoice_comparison",
    "member", "task", "time_entry", "customer_project", "invoice_payment",
    "report_template", "scheduled_report", "generated_report", "reporting_installation",
)

_ACCESS_SQL = sa.text("""
SELECT c.relname::text AS table_name,
       NOT has_table_privilege(c.oid, 'SELECT') AS no_select,
       c.relrowsecurity
         AND NOT r.rolsuper AND NOT r.rolbypassrls
         AND (c.relforcerowsecurity OR NOT pg_has_role(current_user, c.relowner, 'USAGE'))
         AND NOT EXISTS (
             SELECT 1 FROM pg_policy p
             WHERE p.polrelid = c.oid AND p.polcmd IN ('r', '*') AND p.polpermissive
               AND (0 = ANY (p.polroles)
                    OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS pr(oid) WHERE pg_has_role(current_user, pr.oid, 'USAGE')))
         ) AS rls_hides_rows
FROM pg_class c
JOIN pg_roles r ON r.rolname = current_user
WHERE c.oid IN (SELECT to_regclass(t) FROM unnest(CAST(:tables AS text[])) AS t)
ORDER BY c.relname
""")


class PlatformAccessError(PermissionError):
    """The connected role would read nothing (or fail) on platform tables; the message says what to grant."""


def check_readable(bind: Engine | Connection, tables: tuple[str, ...] = READ_TABLES) -> None:
    """Raise PlatformAccessError naming the tables and the grant, when this role cannot read them all."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return check_readable(conn, tables)
    role = bind.execute(sa.text("SELECT current_user")).scalar_one()
    rows = bind.execute(_ACCESS_SQL, {"tables": list(tables)}).mappings().all()
    hidden = [r["table_name"] for r in rows if r["rls_hides_rows"]]
    no_select = [r["table_name"] for r in rows if r["no_select"]]
    if not hidden and not no_select:
        return None
    parts = []
    if hidden:
        parts.append(
            f"row-level security hides every row of {', '.join(hidden)} from role {role!r}, so the reports would "
            f"be empty. Connect as the tables' owner, or run `ALTER ROLE \"{role}\" BYPASSRLS;`, or add a read "
            f"policy for it on each table, e.g. `CREATE POLICY reporting_read ON {hidden[0]} FOR SELECT "
            f"TO \"{role}\" USING (true);`")
    if no_select:
        parts.append(f"role {role!r} may not read {', '.join(no_select)}: "
                     f"`GRANT SELECT ON {', '.join(no_select)} TO \"{role}\";`")
    raise PlatformAccessError("Cannot read the platform tables: " + " Also, ".join(parts)
                              + " (README: Production → the database role).")
