-- This database's installation token (DESIGN.md "Report files").
-- Every store key carries a short token derived from it and the generated_report id, so two
-- databases whose ids overlap (production and a staging rebuilt from scratch) never write the
-- same key into one bucket. One row, created once; never changed by later upgrades.
-- A database restored from another's dump inherits that database's token: give the copy its own
-- with `reporting-dagster db new-token` before it writes into a shared store.
CREATE TABLE IF NOT EXISTS reporting_installation (
    id          BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    token       VARCHAR(32) NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO reporting_installation (id, token)
VALUES (true, replace(CAST(gen_random_uuid() AS text), '-', ''))
ON CONFLICT (id) DO NOTHING;

-- ours: it follows the platform's row-level security (sql/migration_finish.sql)
INSERT INTO reporting_owned_table (table_name) VALUES ('reporting_installation') ON CONFLICT DO NOTHING;
