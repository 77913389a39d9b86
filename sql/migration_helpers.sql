-- Session helpers every migration may call (lib/infra/migrate.py runs this file before each one).
-- They live in pg_temp, so nothing of them is left in the platform's schema.

-- Create an index unless the table already has one on the same columns (in any order of
-- preference the platform chose: `idx_generated_report_status` serves as our status index).
-- A wanted unique index is only satisfied by a unique one. Expression columns are ignored when
-- comparing, so `(organization_id, COALESCE(project_id, 0), name)` covers `(organization_id, name)`.
CREATE OR REPLACE FUNCTION pg_temp.ensure_index(p_table text, p_name text, p_columns text[],
                                                p_unique boolean DEFAULT false, p_where text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF to_regclass(p_name) IS NOT NULL THEN
        RETURN;
    END IF;
    IF EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = to_regclass(p_table)
          AND (NOT p_unique OR i.indisunique)
          AND (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) = p_columns
    ) THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE %s INDEX %I ON %I (%s)%s',
                   CASE WHEN p_unique THEN 'UNIQUE' ELSE '' END, p_name, p_table,
                   (SELECT string_agg(format('%I', c), ', ') FROM unnest(p_columns) AS c),
                   COALESCE(' WHERE ' || p_where, ''));
END
$fn$;

-- Add a constraint unless one of that name exists on the table.
CREATE OR REPLACE FUNCTION pg_temp.ensure_constraint(p_table text, p_name text, p_definition text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(p_table) AND conname = p_name) THEN
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', p_table, p_name, p_definition);
    END IF;
END
$fn$;

-- Give the foreign key of p_table.p_column the delete rule p_action (CASCADE | SET NULL), but only
-- when it is NO ACTION today: a rule the platform chose for its own table is never changed.
CREATE OR REPLACE FUNCTION pg_temp.ensure_fk_on_delete(p_table text, p_column text, p_action text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    fk record;
BEGIN
    FOR fk IN
        SELECT c.conname, c.confrelid::regclass AS target, ta.attname AS target_column
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute ta ON ta.attrelid = c.confrelid AND ta.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.conrelid = to_regclass(p_table) AND array_length(c.conkey, 1) = 1
          AND a.attname = p_column AND c.confdeltype = 'a'
    LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', p_table, fk.conname);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %s (%I) ON DELETE %s',
                       p_table, fk.conname, p_column, fk.target, fk.target_column, p_action);
    END LOOP;
END
$fn$;
