-- Make an existing platform database really have what the code uses (issue #8 item 1).
--
-- 0001-0003 create whole tables only when they are missing, so a platform that already had
-- report_template / generated_report (its migration 018) never got this project's columns. Here
-- every column the code reads or writes on the Part B and Part C tables is added when absent
-- (a reference column with the delete rule argued below, so it never blocks the platform's
-- deletes), constraints only when absent. Part A (the platform's invoice domain) is never altered: its
-- later columns (invoice_direction, is_current, amount_sign, ...) are detected at run time
-- (lib/infra/platform_schema.py), so a platform migration that adds them later does not collide
-- with a column we created first.

-- generated_report.invoice_direction is the platform's (Part A+), like the invoice columns: not
-- added here (the platform's own later ADD COLUMN would collide); requests read it when present.

ALTER TABLE report_template
    ADD COLUMN IF NOT EXISTS project_id BIGINT REFERENCES project (id) ON DELETE CASCADE,
    ADD COLUMN IF NOT EXISTS description TEXT,
    ADD COLUMN IF NOT EXISTS file_format file_format NOT NULL DEFAULT 'pdf',
    ADD COLUMN IF NOT EXISTS template_config JSONB NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN IF NOT EXISTS include_charts BOOLEAN DEFAULT true,
    ADD COLUMN IF NOT EXISTS include_summary BOOLEAN DEFAULT true,
    ADD COLUMN IF NOT EXISTS include_line_items BOOLEAN DEFAULT true,
    ADD COLUMN IF NOT EXISTS default_contract_id BIGINT REFERENCES contract (id) ON DELETE SET NULL,
    ADD COLUMN IF NOT EXISTS logo_path TEXT,
    ADD COLUMN IF NOT EXISTS header_text TEXT,
    ADD COLUMN IF NOT EXISTS footer_text TEXT,
    ADD COLUMN IF NOT EXISTS brand_color VARCHAR(7),
    ADD COLUMN IF NOT EXISTS is_active BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ DEFAULT now(),
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ DEFAULT now();
SELECT pg_temp.ensure_constraint('report_template', 'report_template_brand_color_check',
                                 'CHECK (brand_color ~ ''^#[0-9a-fA-F]{6}$'')');

ALTER TABLE scheduled_report
    ADD COLUMN IF NOT EXISTS day_of_month INTEGER,
    ADD COLUMN IF NOT EXISTS time_of_day TIME NOT NULL DEFAULT '06:00',
    ADD COLUMN IF NOT EXISTS timezone VARCHAR(50) NOT NULL DEFAULT 'UTC',
    ADD COLUMN IF NOT EXISTS project_id BIGINT REFERENCES project (id) ON DELETE CASCADE,
    ADD COLUMN IF NOT EXISTS contract_id BIGINT REFERENCES contract (id) ON DELETE CASCADE,
    ADD COLUMN IF NOT EXISTS billing_period_id BIGINT REFERENCES billing_period (id) ON DELETE SET NULL,
    ADD COLUMN IF NOT EXISTS recipients JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS delivery_method delivery_method NOT NULL DEFAULT 'email',
    ADD COLUMN IF NOT EXISTS s3_destination TEXT,
    ADD COLUMN IF NOT EXISTS is_active BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS last_run_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS last_run_status report_status,
    ADD COLUMN IF NOT EXISTS last_run_error TEXT,
    ADD COLUMN IF NOT EXISTS next_run_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ DEFAULT now(),
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ DEFAULT now();
SELECT pg_temp.ensure_constraint('scheduled_report', 'scheduled_report_day_of_month_check',
                                 'CHECK (day_of_month BETWEEN 1 AND 28)');

ALTER TABLE generated_report
    ADD COLUMN IF NOT EXISTS report_template_id BIGINT REFERENCES report_template (id) ON DELETE SET NULL,
    ADD COLUMN IF NOT EXISTS scheduled_report_id BIGINT REFERENCES scheduled_report (id) ON DELETE SET NULL,
    ADD COLUMN IF NOT EXISTS project_id BIGINT REFERENCES project (id) ON DELETE SET NULL,
    ADD COLUMN IF NOT EXISTS contract_id BIGINT REFERENCES contract (id) ON DELETE SET NULL,
    ADD COLUMN IF NOT EXISTS billing_period_id BIGINT REFERENCES billing_period (id) ON DELETE SET NULL,
    ADD COLUMN IF NOT EXISTS parameters JSONB,
    ADD COLUMN IF NOT EXISTS file_path TEXT,
    ADD COLUMN IF NOT EXISTS file_size_bytes BIGINT,
    ADD COLUMN IF NOT EXISTS file_hash VARCHAR(64),
    ADD COLUMN IF NOT EXISTS requested_by UUID,
    ADD COLUMN IF NOT EXISTS processing_started_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS processing_completed_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS processing_error TEXT,
    ADD COLUMN IF NOT EXISTS processing_time_ms INTEGER,
    ADD COLUMN IF NOT EXISTS record_count INTEGER,
    ADD COLUMN IF NOT EXISTS summary_data JSONB,
    ADD COLUMN IF NOT EXISTS download_count INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ DEFAULT (now() + interval '90 days'),
    ADD COLUMN IF NOT EXISTS archived_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS archived_path TEXT,
    ADD COLUMN IF NOT EXISTS dagster_run_id VARCHAR(64),
    ADD COLUMN IF NOT EXISTS created_at TIMESTAMPTZ DEFAULT now();

-- Tables this project created (and so may change): Part B, its own bookkeeping, and the three
-- Part C tables when 0003 created them, recognisable by a NO ACTION organization key (the
-- platform's own versions cascade from organization). Read by sql/migration_finish.sql.
CREATE TABLE IF NOT EXISTS reporting_owned_table (table_name VARCHAR(63) PRIMARY KEY);
INSERT INTO reporting_owned_table (table_name)
VALUES ('member'), ('task'), ('time_entry'), ('customer_project'), ('invoice_payment'),
       ('report_definition'), ('report_delivery'), ('audit_event'), ('reporting_schema_version'),
       ('reporting_owned_table')
ON CONFLICT DO NOTHING;
INSERT INTO reporting_owned_table (table_name)
SELECT DISTINCT c.conrelid::regclass::text
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.confrelid = to_regclass('organization') AND a.attname = 'organization_id'
  AND c.confdeltype = 'a'
  AND c.conrelid IN (to_regclass('report_template'), to_regclass('scheduled_report'), to_regclass('generated_report'))
ON CONFLICT DO NOTHING;

-- Foreign keys of our tables never block the platform's own deletes. Tenant data goes with its
-- organization / project / invoice (CASCADE); a schedule or template goes with the project or
-- contract it is narrowed to (widening it to the whole organization would send more than was
-- asked for); a generated report is history, so it keeps its row and forgets the reference
-- (SET NULL). Only NO ACTION keys change: a rule the platform chose is kept.
DO $$
DECLARE
    rule text[];
BEGIN
    FOREACH rule SLICE 1 IN ARRAY ARRAY[
        ['member', 'organization_id', 'CASCADE'],
        ['task', 'project_id', 'CASCADE'],
        ['time_entry', 'task_id', 'CASCADE'],
        ['time_entry', 'member_id', 'CASCADE'],
        ['customer_project', 'customer_id', 'CASCADE'],
        ['customer_project', 'project_id', 'CASCADE'],
        ['invoice_payment', 'invoice_header_id', 'CASCADE'],
        ['report_delivery', 'generated_report_id', 'CASCADE'],
        ['report_template', 'organization_id', 'CASCADE'],
        ['report_template', 'project_id', 'CASCADE'],
        ['report_template', 'default_contract_id', 'SET NULL'],
        ['scheduled_report', 'organization_id', 'CASCADE'],
        ['scheduled_report', 'report_template_id', 'CASCADE'],
        ['scheduled_report', 'project_id', 'CASCADE'],
        ['scheduled_report', 'contract_id', 'CASCADE'],
        ['scheduled_report', 'billing_period_id', 'SET NULL'],
        ['generated_report', 'organization_id', 'CASCADE'],
        ['generated_report', 'report_template_id', 'SET NULL'],
        ['generated_report', 'scheduled_report_id', 'SET NULL'],
        ['generated_report', 'project_id', 'SET NULL'],
        ['generated_report', 'contract_id', 'SET NULL'],
        ['generated_report', 'billing_period_id', 'SET NULL']]
    LOOP
        IF EXISTS (SELECT 1 FROM reporting_owned_table WHERE table_name = rule[1]) THEN
            PERFORM pg_temp.ensure_fk_on_delete(rule[1], rule[2], rule[3]);
        END IF;
    END LOOP;
END $$;
