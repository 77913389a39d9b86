-- Run after every `db upgrade` (also when no migration was pending), so it follows the platform:
-- when the platform protects its core tables with row-level security, the tables this project
-- created get it too, so an API layer that exposes every unprotected table does not expose them.
-- No policy is created: the owner (the role that ran the migrations) bypasses RLS; another
-- reporting role needs BYPASSRLS or a policy (README "Production"; the run's preflight says so).
DO $$
DECLARE
    t text;
    tables text[];
BEGIN
    IF to_regclass('reporting_owned_table') IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_class
        WHERE relrowsecurity AND oid IN (to_regclass('organization'), to_regclass('project'),
              to_regclass('contract'), to_regclass('counterparty'), to_regclass('invoice_header'),
              to_regclass('expected_invoice_header'), to_regclass('received_invoice_header'))) THEN
        RETURN;
    END IF;
    SELECT array_agg(o.table_name::text ORDER BY o.table_name) INTO tables
    FROM reporting_owned_table o JOIN pg_class c ON c.oid = to_regclass(o.table_name)
    WHERE NOT c.relrowsecurity;
    FOREACH t IN ARRAY COALESCE(tables, ARRAY[]::text[])
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;
