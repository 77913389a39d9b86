-- Part C: report management (the platform's migration 018, with this project's additions).
-- Enum values and columns that an older platform schema may lack are added one by one.

DO $$ BEGIN
    CREATE TYPE report_type AS ENUM ('invoice_to_client', 'invoice_expected', 'invoice_received',
        'invoice_comparison', 'invoice_aging', 'timesheet', 'project_profitability');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
ALTER TYPE report_type ADD VALUE IF NOT EXISTS 'invoice_aging';
ALTER TYPE report_type ADD VALUE IF NOT EXISTS 'timesheet';
ALTER TYPE report_type ADD VALUE IF NOT EXISTS 'project_profitability';

DO $$ BEGIN
    CREATE TYPE file_format AS ENUM ('csv', 'xlsx', 'json', 'pdf', 'html');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
ALTER TYPE file_format ADD VALUE IF NOT EXISTS 'html';

DO $$ BEGIN
    CREATE TYPE report_frequency AS ENUM ('monthly', 'quarterly', 'annual', 'on_demand');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN
    CREATE TYPE report_status AS ENUM ('pending', 'processing', 'completed', 'failed');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN
    CREATE TYPE generation_source AS ENUM ('on_demand', 'scheduled');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN
    CREATE TYPE delivery_method AS ENUM ('email', 's3', 'both');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS report_template (
    id                   BIGSERIAL PRIMARY KEY,
    organization_id      BIGINT NOT NULL REFERENCES organization (id),
    project_id           BIGINT REFERENCES project (id),
    name                 VARCHAR(255) NOT NULL,
    description          TEXT,
    report_type          report_type NOT NULL,
    file_format          file_format NOT NULL DEFAULT 'pdf',
    template_config      JSONB NOT NULL DEFAULT '{}'::jsonb,
    include_charts       BOOLEAN DEFAULT true,
    include_summary      BOOLEAN DEFAULT true,
    include_line_items   BOOLEAN DEFAULT true,
    default_contract_id  BIGINT REFERENCES contract (id),
    logo_path            TEXT,
    header_text          TEXT,
    footer_text          TEXT,
    brand_color          VARCHAR(7) CHECK (brand_color ~ '^#[0-9a-fA-F]{6}$'),
    is_active            BOOLEAN NOT NULL DEFAULT true,
    created_at           TIMESTAMPTZ DEFAULT now(),
    updated_at           TIMESTAMPTZ DEFAULT now()
);
SELECT pg_temp.ensure_index('report_template', 'ux_report_template_org_name', ARRAY['organization_id', 'name'],
                             true, 'project_id IS NULL');
SELECT pg_temp.ensure_index('report_template', 'ux_report_template_org_project_name',
                             ARRAY['organization_id', 'project_id', 'name'], true, 'project_id IS NOT NULL');

CREATE TABLE IF NOT EXISTS scheduled_report (
    id                  BIGSERIAL PRIMARY KEY,
    organization_id     BIGINT NOT NULL REFERENCES organization (id),
    report_template_id  BIGINT NOT NULL REFERENCES report_template (id),
    name                VARCHAR(255) NOT NULL,
    report_frequency    report_frequency NOT NULL,
    day_of_month        INTEGER CHECK (day_of_month BETWEEN 1 AND 28),
    time_of_day         TIME NOT NULL DEFAULT '06:00',
    timezone            VARCHAR(50) NOT NULL DEFAULT 'UTC',
    project_id          BIGINT REFERENCES project (id),
    contract_id         BIGINT REFERENCES contract (id),
    billing_period_id   BIGINT REFERENCES billing_period (id),
    recipients          JSONB NOT NULL DEFAULT '[]'::jsonb,
    delivery_method     delivery_method NOT NULL DEFAULT 'email',
    s3_destination      TEXT,
    is_active           BOOLEAN NOT NULL DEFAULT true,
    last_run_at         TIMESTAMPTZ,
    last_run_status     report_status,
    last_run_error      TEXT,
    next_run_at         TIMESTAMPTZ,
    created_at          TIMESTAMPTZ DEFAULT now(),
    updated_at          TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT scheduled_report_day_required
        CHECK (report_frequency = 'on_demand' OR day_of_month IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS generated_report (
    id                       BIGSERIAL PRIMARY KEY,
    organization_id          BIGINT NOT NULL REFERENCES organization (id),
    report_template_id       BIGINT REFERENCES report_template (id),
    scheduled_report_id      BIGINT REFERENCES scheduled_report (id),
    generation_source        generation_source NOT NULL,
    report_type              report_type NOT NULL,
    name                     VARCHAR(255) NOT NULL,
    report_status            report_status NOT NULL DEFAULT 'pending',
    project_id               BIGINT REFERENCES project (id),
    contract_id              BIGINT REFERENCES contract (id),
    billing_period_id        BIGINT REFERENCES billing_period (id),
    parameters               JSONB,
    file_format              file_format NOT NULL,
    file_path                TEXT,
    file_size_bytes          BIGINT,
    file_hash                VARCHAR(64),
    requested_by             UUID,
    processing_started_at    TIMESTAMPTZ,
    processing_completed_at  TIMESTAMPTZ,
    processing_error         TEXT,
    processing_time_ms       INTEGER,
    record_count             INTEGER,
    summary_data             JSONB,
    download_count           INTEGER NOT NULL DEFAULT 0,
    expires_at               TIMESTAMPTZ DEFAULT (now() + interval '90 days'),
    archived_at              TIMESTAMPTZ,
    archived_path            TEXT,
    dagster_run_id           VARCHAR(64),
    created_at               TIMESTAMPTZ DEFAULT now()
);
-- Columns this project added to the platform's generated_report.
ALTER TABLE generated_report ADD COLUMN IF NOT EXISTS dagster_run_id VARCHAR(64);
ALTER TABLE generated_report ADD COLUMN IF NOT EXISTS file_hash VARCHAR(64);
ALTER TABLE generated_report ADD COLUMN IF NOT EXISTS record_count INTEGER;
ALTER TABLE generated_report ADD COLUMN IF NOT EXISTS summary_data JSONB;
ALTER TABLE generated_report ADD COLUMN IF NOT EXISTS processing_time_ms INTEGER;
SELECT pg_temp.ensure_index('generated_report', 'ix_generated_report_org_created', ARRAY['organization_id', 'created_at']);
SELECT pg_temp.ensure_index('generated_report', 'ix_generated_report_status', ARRAY['report_status']);

CREATE TABLE IF NOT EXISTS report_definition (
    id                  BIGSERIAL PRIMARY KEY,
    slug                VARCHAR(100) NOT NULL UNIQUE,
    name                VARCHAR(200) NOT NULL,
    description         TEXT,
    category            VARCHAR(50) NOT NULL,
    parameter_schema    JSONB NOT NULL,
    column_definitions  JSONB NOT NULL,
    is_system           BOOLEAN NOT NULL DEFAULT true,
    sort_order          INTEGER NOT NULL DEFAULT 0,
    version             INTEGER NOT NULL,
    created_at          TIMESTAMPTZ DEFAULT now(),
    updated_at          TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS report_delivery (
    id                   BIGSERIAL PRIMARY KEY,
    generated_report_id  BIGINT NOT NULL REFERENCES generated_report (id),
    channel              VARCHAR(20) NOT NULL CHECK (channel IN ('email', 's3')),
    recipient            VARCHAR NOT NULL,
    status               VARCHAR(20) NOT NULL DEFAULT 'claimed' CHECK (status IN ('claimed', 'sent', 'failed')),
    attempts             INTEGER NOT NULL DEFAULT 0,
    provider_message_id  VARCHAR,
    error                TEXT,
    claimed_at           TIMESTAMPTZ,
    sent_at              TIMESTAMPTZ,
    UNIQUE (generated_report_id, channel, recipient)
);

CREATE TABLE IF NOT EXISTS audit_event (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT,
    event_type       VARCHAR(100) NOT NULL,
    entity_type      VARCHAR(50) NOT NULL,
    entity_id        BIGINT,
    actor            VARCHAR,
    details          JSONB,
    occurred_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
SELECT pg_temp.ensure_index('audit_event', 'ix_audit_event_org_time', ARRAY['organization_id', 'occurred_at']);
