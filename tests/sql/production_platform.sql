-- A platform database as it is deployed in production (SOURCE_SCHEMA.md Part A + Part A+), built
-- by the platform's own migrations, BEFORE `reporting-dagster db upgrade` ever ran on it:
-- invoice direction, expected-invoice versions, line signs, its own report tables (without this
-- project's columns, with fewer enum values, ON DELETE CASCADE, its own indexes), row-level
-- security with policies for its own roles, and billing periods 2024-01..2027-12 whose ids are
-- not in date order. Triggers are installed by tests/platform_triggers.py.

DO $$ BEGIN CREATE ROLE platform_authenticated NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE platform_service NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE SCHEMA auth;
CREATE TABLE auth.users (id UUID PRIMARY KEY, email VARCHAR NOT NULL);

CREATE TYPE invoice_status AS ENUM ('draft', 'verified', 'sent', 'disputed', 'paid');
CREATE TYPE invoice_comparison_status AS ENUM ('unchecked', 'matched', 'underbilled', 'overbilled');
CREATE TYPE invoice_direction AS ENUM ('payable', 'receivable');

CREATE TABLE organization (id BIGSERIAL PRIMARY KEY, name VARCHAR NOT NULL, address VARCHAR, country VARCHAR,
                           created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE currency (id BIGSERIAL PRIMARY KEY, name VARCHAR NOT NULL, code VARCHAR NOT NULL UNIQUE);
CREATE TABLE counterparty (id BIGSERIAL PRIMARY KEY, name VARCHAR NOT NULL, email VARCHAR, address VARCHAR,
                           country VARCHAR, created_at TIMESTAMPTZ DEFAULT now());
CREATE TABLE project (id BIGSERIAL PRIMARY KEY, organization_id BIGINT REFERENCES organization (id) ON DELETE CASCADE,
                      name VARCHAR NOT NULL, created_at TIMESTAMPTZ DEFAULT now());
CREATE TABLE contract (id BIGSERIAL PRIMARY KEY, project_id BIGINT REFERENCES project (id) ON DELETE CASCADE,
                       organization_id BIGINT REFERENCES organization (id) ON DELETE CASCADE,
                       counterparty_id BIGINT REFERENCES counterparty (id), name VARCHAR NOT NULL,
                       description VARCHAR, effective_date DATE, end_date DATE,
                       created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now());
CREATE TABLE billing_period (id BIGSERIAL PRIMARY KEY, name VARCHAR NOT NULL, start_date DATE, end_date DATE,
                             created_at TIMESTAMPTZ DEFAULT now(), UNIQUE (start_date, end_date));
CREATE TABLE invoice_line_item_type (id BIGSERIAL PRIMARY KEY, name VARCHAR NOT NULL, code VARCHAR NOT NULL,
                                     description VARCHAR);
CREATE TABLE meter_aggregate (id BIGSERIAL PRIMARY KEY, billing_period_id BIGINT REFERENCES billing_period (id),
                              organization_id BIGINT REFERENCES organization (id) ON DELETE CASCADE,
                              total_production NUMERIC, total_consumption NUMERIC, unit VARCHAR,
                              period_type VARCHAR, period_start TIMESTAMPTZ, period_end TIMESTAMPTZ,
                              created_at TIMESTAMPTZ DEFAULT now());
CREATE TABLE invoice_header (
    id BIGSERIAL PRIMARY KEY, project_id BIGINT REFERENCES project (id) ON DELETE CASCADE,
    contract_id BIGINT REFERENCES contract (id) ON DELETE CASCADE,
    billing_period_id BIGINT REFERENCES billing_period (id), counterparty_id BIGINT REFERENCES counterparty (id),
    currency_id BIGINT REFERENCES currency (id), invoice_number VARCHAR, invoice_date DATE, due_date DATE,
    total_amount NUMERIC, status invoice_status NOT NULL DEFAULT 'draft', created_at TIMESTAMPTZ DEFAULT now(),
    invoice_direction invoice_direction);
CREATE TABLE invoice_line_item (
    id BIGSERIAL PRIMARY KEY, invoice_header_id BIGINT REFERENCES invoice_header (id) ON DELETE CASCADE,
    meter_aggregate_id BIGINT REFERENCES meter_aggregate (id),
    invoice_line_item_type_id BIGINT REFERENCES invoice_line_item_type (id), description VARCHAR,
    quantity NUMERIC, line_unit_price NUMERIC, line_total_amount NUMERIC, created_at TIMESTAMPTZ DEFAULT now(),
    amount_sign SMALLINT NOT NULL DEFAULT 1 CHECK (amount_sign IN (1, -1)),
    component_code VARCHAR(50), basis_amount NUMERIC, rate_pct NUMERIC, sort_order INTEGER, contract_line_id BIGINT,
    CONSTRAINT invoice_line_item_sign_check CHECK (line_total_amount IS NULL OR line_total_amount = 0
        OR sign(line_total_amount) = amount_sign));
CREATE TABLE expected_invoice_header (
    id BIGSERIAL PRIMARY KEY, project_id BIGINT REFERENCES project (id) ON DELETE CASCADE,
    contract_id BIGINT REFERENCES contract (id) ON DELETE CASCADE,
    billing_period_id BIGINT REFERENCES billing_period (id), counterparty_id BIGINT REFERENCES counterparty (id),
    currency_id BIGINT REFERENCES currency (id), total_amount NUMERIC, created_at TIMESTAMPTZ DEFAULT now(),
    invoice_direction invoice_direction NOT NULL DEFAULT 'payable',
    version_no INTEGER NOT NULL DEFAULT 1, is_current BOOLEAN NOT NULL DEFAULT true, generated_at TIMESTAMPTZ,
    idempotency_key VARCHAR(100), source_metadata JSONB);
CREATE UNIQUE INDEX ux_expected_invoice_current ON expected_invoice_header (project_id, billing_period_id, invoice_direction)
    WHERE is_current;
CREATE TABLE expected_invoice_line_item (
    id BIGSERIAL PRIMARY KEY,
    expected_invoice_header_id BIGINT REFERENCES expected_invoice_header (id) ON DELETE CASCADE,
    invoice_line_item_type_id BIGINT REFERENCES invoice_line_item_type (id), description VARCHAR,
    quantity NUMERIC, line_unit_price NUMERIC, line_total_amount NUMERIC, created_at TIMESTAMPTZ DEFAULT now(),
    amount_sign SMALLINT NOT NULL DEFAULT 1 CHECK (amount_sign IN (1, -1)),
    component_code VARCHAR(50), basis_amount NUMERIC, rate_pct NUMERIC, sort_order INTEGER, contract_line_id BIGINT,
    CONSTRAINT expected_invoice_line_item_sign_check CHECK (line_total_amount IS NULL OR line_total_amount = 0
        OR sign(line_total_amount) = amount_sign));
CREATE TABLE received_invoice_header (
    id BIGSERIAL PRIMARY KEY, project_id BIGINT REFERENCES project (id) ON DELETE CASCADE,
    contract_id BIGINT REFERENCES contract (id) ON DELETE CASCADE,
    billing_period_id BIGINT REFERENCES billing_period (id), counterparty_id BIGINT REFERENCES counterparty (id),
    currency_id BIGINT REFERENCES currency (id), invoice_number VARCHAR, invoice_date DATE, due_date DATE,
    total_amount NUMERIC, status invoice_status NOT NULL DEFAULT 'draft', created_at TIMESTAMPTZ DEFAULT now(),
    invoice_direction invoice_direction NOT NULL DEFAULT 'payable');
CREATE TABLE received_invoice_line_item (
    id BIGSERIAL PRIMARY KEY,
    received_invoice_header_id BIGINT REFERENCES received_invoice_header (id) ON DELETE CASCADE,
    invoice_line_item_type_id BIGINT REFERENCES invoice_line_item_type (id), description VARCHAR,
    quantity NUMERIC, line_unit_price NUMERIC, line_total_amount NUMERIC, created_at TIMESTAMPTZ DEFAULT now());
CREATE TABLE invoice_comparison (
    id BIGSERIAL PRIMARY KEY,
    expected_invoice_header_id BIGINT REFERENCES expected_invoice_header (id) ON DELETE CASCADE,
    received_invoice_header_id BIGINT REFERENCES received_invoice_header (id) ON DELETE CASCADE,
    variance_amount NUMERIC, status invoice_comparison_status NOT NULL DEFAULT 'unchecked', final_amount NUMERIC,
    adjustment_amount NUMERIC DEFAULT 0, created_at TIMESTAMPTZ DEFAULT now(),
    invoice_direction invoice_direction NOT NULL DEFAULT 'payable');
CREATE TABLE invoice_comparison_line_item (
    id BIGSERIAL PRIMARY KEY, invoice_comparison_id BIGINT REFERENCES invoice_comparison (id) ON DELETE CASCADE,
    expected_invoice_line_item_id BIGINT REFERENCES expected_invoice_line_item (id) ON DELETE CASCADE,
    received_invoice_line_item_id BIGINT REFERENCES received_invoice_line_item (id) ON DELETE CASCADE,
    variance_amount NUMERIC, description VARCHAR, created_at TIMESTAMPTZ DEFAULT now());
CREATE INDEX idx_invoice_header_billing_period ON invoice_header (billing_period_id);
CREATE INDEX idx_expected_invoice_header_billing_period ON expected_invoice_header (billing_period_id);
CREATE INDEX idx_received_invoice_header_billing_period ON received_invoice_header (billing_period_id);

-- Its report schema (seed 000, migration 018): four report types, no html, no brand_color,
-- parameters or dagster_run_id; UUID users; ON DELETE CASCADE from organization.
CREATE TYPE report_type AS ENUM ('invoice_to_client', 'invoice_expected', 'invoice_received', 'invoice_comparison');
CREATE TYPE file_format AS ENUM ('csv', 'xlsx', 'json', 'pdf');
CREATE TYPE report_frequency AS ENUM ('monthly', 'quarterly', 'annual', 'on_demand');
CREATE TYPE report_status AS ENUM ('pending', 'processing', 'completed', 'failed');
CREATE TYPE generation_source AS ENUM ('on_demand', 'scheduled');
CREATE TYPE delivery_method AS ENUM ('email', 's3', 'both');

CREATE TABLE report_template (
    id BIGSERIAL PRIMARY KEY, organization_id BIGINT NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    project_id BIGINT REFERENCES project (id) ON DELETE CASCADE, name VARCHAR(255) NOT NULL, description TEXT,
    report_type report_type NOT NULL, file_format file_format NOT NULL DEFAULT 'pdf',
    template_config JSONB NOT NULL DEFAULT '{}'::jsonb, include_charts BOOLEAN DEFAULT true,
    include_summary BOOLEAN DEFAULT true, include_line_items BOOLEAN DEFAULT true,
    default_contract_id BIGINT REFERENCES contract (id) ON DELETE SET NULL, logo_path TEXT, header_text TEXT,
    footer_text TEXT, is_active BOOLEAN NOT NULL DEFAULT true,
    created_by UUID REFERENCES auth.users (id), updated_by UUID REFERENCES auth.users (id),
    created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now());
CREATE UNIQUE INDEX ux_report_template_project_name ON report_template (organization_id, COALESCE(project_id, 0), name);

CREATE TABLE scheduled_report (
    id BIGSERIAL PRIMARY KEY, organization_id BIGINT NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    report_template_id BIGINT NOT NULL REFERENCES report_template (id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL, report_frequency report_frequency NOT NULL,
    day_of_month INTEGER CHECK (day_of_month BETWEEN 1 AND 28), time_of_day TIME NOT NULL DEFAULT '06:00',
    timezone VARCHAR(50) NOT NULL DEFAULT 'UTC', project_id BIGINT REFERENCES project (id) ON DELETE CASCADE,
    contract_id BIGINT REFERENCES contract (id) ON DELETE CASCADE,
    billing_period_id BIGINT REFERENCES billing_period (id), recipients JSONB NOT NULL DEFAULT '[]'::jsonb,
    delivery_method delivery_method NOT NULL DEFAULT 'email', s3_destination TEXT,
    is_active BOOLEAN NOT NULL DEFAULT true, last_run_at TIMESTAMPTZ, last_run_status report_status,
    last_run_error TEXT, next_run_at TIMESTAMPTZ, created_by UUID REFERENCES auth.users (id),
    updated_by UUID REFERENCES auth.users (id),
    created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now());
CREATE INDEX idx_scheduled_report_next_run ON scheduled_report (next_run_at) WHERE is_active;

CREATE TABLE generated_report (
    id BIGSERIAL PRIMARY KEY, organization_id BIGINT NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    report_template_id BIGINT REFERENCES report_template (id) ON DELETE SET NULL,
    scheduled_report_id BIGINT REFERENCES scheduled_report (id) ON DELETE SET NULL,
    generation_source generation_source NOT NULL, report_type report_type NOT NULL, name VARCHAR(255) NOT NULL,
    report_status report_status NOT NULL DEFAULT 'pending', project_id BIGINT REFERENCES project (id) ON DELETE SET NULL,
    contract_id BIGINT REFERENCES contract (id) ON DELETE SET NULL,
    billing_period_id BIGINT REFERENCES billing_period (id), file_format file_format NOT NULL, file_path TEXT,
    file_size_bytes BIGINT, requested_by UUID REFERENCES auth.users (id), processing_started_at TIMESTAMPTZ,
    processing_completed_at TIMESTAMPTZ, processing_error TEXT, download_count INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ DEFAULT (now() + interval '90 days'), archived_at TIMESTAMPTZ, archived_path TEXT,
    invoice_direction invoice_direction, created_at TIMESTAMPTZ DEFAULT now());
CREATE INDEX idx_generated_report_status ON generated_report (report_status);
CREATE INDEX idx_generated_report_org_created ON generated_report (organization_id, created_at DESC);

-- Row-level security on the core tables, with policies for the platform's own roles only.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organization', 'project', 'contract', 'counterparty', 'invoice_header',
        'invoice_line_item', 'expected_invoice_header', 'expected_invoice_line_item', 'received_invoice_header',
        'received_invoice_line_item', 'invoice_comparison', 'invoice_comparison_line_item', 'meter_aggregate',
        'report_template', 'scheduled_report', 'generated_report']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR ALL TO platform_service USING (true) WITH CHECK (true)',
                       t || '_service', t);
        EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO platform_authenticated USING (false)',
                       t || '_members', t);
    END LOOP;
END $$;

-- Billing periods 2024-01..2027-12, ids not in date order (2026 first, then the rest).
INSERT INTO billing_period (name, start_date, end_date)
SELECT to_char(m, 'FMMonth YYYY'), m::date, (m + interval '1 month' - interval '1 day')::date
FROM generate_series(DATE '2024-01-01', DATE '2027-12-01', interval '1 month') AS m
ORDER BY (extract(year FROM m) <> 2026), m;
