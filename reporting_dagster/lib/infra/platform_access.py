"""Can the connected role read the platform tables and write the report tables? Asked first.

The production platform enables row-level security on its core tables with policies for its
own roles only. A login that is neither the owner nor BYPASSRLS and matches no policy reads
**zero rows without an error** (and its UPDATEs change nothing): a run would succeed with empty
files, a request would stay pending. So every run and request sensor first asks PostgreSQL's
catalogue, and fails with the tables and the statements that fix it when RLS could hide rows
from this role (no applicable `USING (true)` policy, or a restrictive one), or a privilege is
missing. Policies with a condition count as hiding rows: a report needs every row.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

# What the extracts and requests read (SOURCE_SCHEMA.md Parts A, B and C) ...
READ_TABLES = (
    "organization", "currency", "counterparty", "project", "contract", "billing_period", "invoice_line_item_type",
    "meter_aggregate", "invoice_header", "invoice_line_item", "expected_invoice_header",
    "expected_invoice_line_item", "received_invoice_header", "received_invoice_line_item", "invoice_comparison",
    "member", "task", "time_entry", "customer_project", "invoice_payment",
    "report_template", "scheduled_report", "generated_report", "reporting_installation",
)
# ... and what the pipeline inserts into or updates.
WRITE_TABLES = ("report_template", "scheduled_report", "generated_report", "report_delivery", "audit_event",
                "report_definition")

_ACCESS_SQL = sa.text("""
WITH me AS (SELECT rolsuper OR rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user),
policies AS (
    SELECT p.polrelid, p.polcmd, p.polpermissive,
           COALESCE(pg_get_expr(p.polqual, p.polrelid), 'true') = 'true'
               AND COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), 'true') = 'true' AS all_rows
    FROM pg_policy p
    WHERE 0 = ANY (p.polroles)
       OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS pr(oid) WHERE pg_has_role(current_user, pr.oid, 'USAGE'))
)
SELECT c.relname::text AS table_name,
       c.relname = ANY (CAST(:write AS text[])) AS written,
       NOT has_table_privilege(c.oid, 'SELECT') AS no_select,
       c.relname = ANY (CAST(:write AS text[]))
         AND NOT (has_table_privilege(c.oid, 'INSERT') AND has_table_privilege(c.oid, 'UPDATE')) AS no_write,
       c.relrowsecurity AND NOT me.bypass
         AND (c.relforcerowsecurity OR NOT pg_has_role(current_user, c.relowner, 'USAGE'))
         AND (EXISTS (SELECT 1 FROM policies p WHERE p.polrelid = c.oid AND NOT p.polpermissive)
              OR NOT EXISTS (SELECT 1 FROM policies p WHERE p.polrelid = c.oid AND p.polpermissive AND p.all_rows
                             AND (p.polcmd = '*' OR (p.polcmd = 'r' AND NOT c.relname = ANY (CAST(:write AS text[]))))))
         AS rls_hides_rows
FROM pg_class c CROSS JOIN me
WHERE c.oid IN (SELECT to_regclass(t) FROM unnest(CAST(:tables AS text[])) AS t)
ORDER BY c.relname
""")


class PlatformAccessError(PermissionError):
    """The connected role would read nothing (or fail) on platform tables; the message says what to grant."""


def check_access(bind: Engine | Connection, tables: tuple[str, ...] = READ_TABLES + WRITE_TABLES) -> None:
    """Raise PlatformAccessError naming the tables and the fix when this role cannot read (or write) them all."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return check_access(conn, tables)
    role = bind.execute(sa.text("SELECT current_user")).scalar_one()
    rows = bind.execute(_ACCESS_SQL, {"tables": sorted(set(tables)), "write": list(WRITE_TABLES)}).mappings().all()
    hidden = [r["table_name"] for r in rows if r["rls_hides_rows"]]
    no_select = [r["table_name"] for r in rows if r["no_select"]]
    no_write = [r["table_name"] for r in rows if r["no_write"]]
    if not (hidden or no_select or no_write):
        return None
    parts = []
    if hidden:
        parts.append(
            f"row-level security may hide rows of {', '.join(hidden)} from role {role!r} (no policy lets it see "
            f"and change every row), so reports would be empty or incomplete and requests would stay pending. "
            f"Connect as the tables' owner, or run `ALTER ROLE \"{role}\" BYPASSRLS;` (recommended), or give it "
            f"a policy on each, e.g. `CREATE POLICY reporting_all ON {hidden[0]} FOR ALL TO \"{role}\" "
            f"USING (true) WITH CHECK (true);`")
    if no_select:
        parts.append(f"role {role!r} may not read {', '.join(no_select)}: "
                     f"`GRANT SELECT ON {', '.join(no_select)} TO \"{role}\";`")
    if no_write:
        parts.append(f"role {role!r} may not write {', '.join(no_write)}: "
                     f"`GRANT INSERT, UPDATE ON {', '.join(no_write)} TO \"{role}\";`")
    raise PlatformAccessError("Cannot use the platform database: " + " Also, ".join(parts)
                              + " (README: Production → The database role).")


