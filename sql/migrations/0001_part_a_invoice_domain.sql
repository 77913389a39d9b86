-- Part A: the platform's existing invoice domain (SOURCE_SCHEMA.md). Every statement is
-- conditional, so an existing platform database keeps what it has and gains only what is missing.

DO $$ BEGIN
    CREATE TYPE invoice_status AS ENUM ('draft', 'verified', 'sent', 'disputed', 'paid');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN
    CREATE TYPE invoice_comparison_status AS ENUM ('unchecked', 'matched', 'underbilled', 'overbilled');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS organization (
    id          BIGSERIAL PRIMARY KEY,
    name        VARCHAR NOT NULL,
    address     VARCHAR,
    country     VARCHAR,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS currency (
    id    BIGSERIAL PRIMARY KEY,
    name  VARCHAR NOT NULL,
    code  VARCHAR NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS counterparty (
    id          BIGSERIAL PRIMARY KEY,
    name        VARCHAR NOT NULL,
    email       VARCHAR,
    address     VARCHAR,
    country     VARCHAR,
    created_at  TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS project (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT REFERENCES organization (id),
    name             VARCHAR NOT NULL,
    created_at       TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS contract (
    id               BIGSERIAL PRIMARY KEY,
    project_id       BIGINT REFERENCES project (id),
    organization_id  BIGINT REFERENCES organization (id),
    counterparty_id  BIGINT REFERENCES counterparty (id),
    name             VARCHAR NOT NULL,
    description      VARCHAR,
    effective_date   DATE,
    end_date         DATE,
    created_at       TIMESTAMPTZ DEFAULT now(),
    updated_at       TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS billing_period (
    id          BIGSERIAL PRIMARY KEY,
    name        VARCHAR NOT NULL,
    start_date  DATE,
    end_date    DATE,
    created_at  TIMESTAMPTZ DEFAULT now(),
    UNIQUE (start_date, end_date)
);

CREATE TABLE IF NOT EXISTS invoice_line_item_type (
    id           BIGSERIAL PRIMARY KEY,
    name         VARCHAR NOT NULL,
    code         VARCHAR NOT NULL,
    description  VARCHAR
);

CREATE TABLE IF NOT EXISTS meter_aggregate (
    id                 BIGSERIAL PRIMARY KEY,
    billing_period_id  BIGINT REFERENCES billing_period (id),
    organization_id    BIGINT REFERENCES organization (id),
    total_production   NUMERIC,
    total_consumption  NUMERIC,
    unit               VARCHAR,
    period_type        VARCHAR,
    period_start       TIMESTAMPTZ,
    period_end         TIMESTAMPTZ,
    created_at         TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS invoice_header (
    id                 BIGSERIAL PRIMARY KEY,
    project_id         BIGINT REFERENCES project (id),
    contract_id        BIGINT REFERENCES contract (id),
    billing_period_id  BIGINT REFERENCES billing_period (id),
    counterparty_id    BIGINT REFERENCES counterparty (id),
    currency_id        BIGINT REFERENCES currency (id),
    invoice_number     VARCHAR,
    invoice_date       DATE,
    due_date           DATE,
    total_amount       NUMERIC,
    status             invoice_status NOT NULL DEFAULT 'draft',
    created_at         TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS invoice_line_item (
    id                         BIGSERIAL PRIMARY KEY,
    invoice_header_id          BIGINT REFERENCES invoice_header (id),
    meter_aggregate_id         BIGINT REFERENCES meter_aggregate (id),
    invoice_line_item_type_id  BIGINT REFERENCES invoice_line_item_type (id),
    description                VARCHAR,
    quantity                   NUMERIC,
    line_unit_price            NUMERIC,
    line_total_amount          NUMERIC,
    created_at                 TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS expected_invoice_header (
    id                 BIGSERIAL PRIMARY KEY,
    project_id         BIGINT REFERENCES project (id),
    contract_id        BIGINT REFERENCES contract (id),
    billing_period_id  BIGINT REFERENCES billing_period (id),
    counterparty_id    BIGINT REFERENCES counterparty (id),
    currency_id        BIGINT REFERENCES currency (id),
    total_amount       NUMERIC,
    created_at         TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS expected_invoice_line_item (
    id                          BIGSERIAL PRIMARY KEY,
    expected_invoice_header_id  BIGINT REFERENCES expected_invoice_header (id),
    invoice_line_item_type_id   BIGINT REFERENCES invoice_line_item_type (id),
    description                 VARCHAR,
    quantity                    NUMERIC,
    line_unit_price             NUMERIC,
    line_total_amount           NUMERIC,
    created_at                  TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS received_invoice_header (
    id                 BIGSERIAL PRIMARY KEY,
    project_id         BIGINT REFERENCES project (id),
    contract_id        BIGINT REFERENCES contract (id),
    billing_period_id  BIGINT REFERENCES billing_period (id),
    counterparty_id    BIGINT REFERENCES counterparty (id),
    currency_id        BIGINT REFERENCES currency (id),
    invoice_number     VARCHAR,
    invoice_date       DATE,
    due_date           DATE,
    total_amount       NUMERIC,
    status             invoice_status NOT NULL DEFAULT 'draft',
    created_at         TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS received_invoice_line_item (
    id                          BIGSERIAL PRIMARY KEY,
    received_invoice_header_id  BIGINT REFERENCES received_invoice_header (id),
    invoice_line_item_type_id   BIGINT REFERENCES invoice_line_item_type (id),
    description                 VARCHAR,
    quantity                    NUMERIC,
    line_unit_price             NUMERIC,
    line_total_amount           NUMERIC,
    created_at                  TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS invoice_comparison (
    id                          BIGSERIAL PRIMARY KEY,
    expected_invoice_header_id  BIGINT REFERENCES expected_invoice_header (id),
    received_invoice_header_id  BIGINT REFERENCES received_invoice_header (id),
    variance_amount             NUMERIC,
    status                      invoice_comparison_status NOT NULL DEFAULT 'unchecked',
    final_amount                NUMERIC,
    adjustment_amount           NUMERIC DEFAULT 0,
    created_at                  TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS invoice_comparison_line_item (
    id                             BIGSERIAL PRIMARY KEY,
    invoice_comparison_id          BIGINT REFERENCES invoice_comparison (id),
    expected_invoice_line_item_id  BIGINT REFERENCES expected_invoice_line_item (id),
    received_invoice_line_item_id  BIGINT REFERENCES received_invoice_line_item (id),
    variance_amount                NUMERIC,
    description                    VARCHAR,
    created_at                     TIMESTAMPTZ DEFAULT now()
);

-- Indexes the monthly extracts use (skipped where the platform has an index on the same columns).
SELECT pg_temp.ensure_index('invoice_header', 'ix_invoice_header_period', ARRAY['billing_period_id']);
SELECT pg_temp.ensure_index('invoice_line_item', 'ix_invoice_line_item_header', ARRAY['invoice_header_id']);
SELECT pg_temp.ensure_index('expected_invoice_header', 'ix_expected_invoice_header_period', ARRAY['billing_period_id']);
SELECT pg_temp.ensure_index('expected_invoice_line_item', 'ix_expected_invoice_line_item_header', ARRAY['expected_invoice_header_id']);
SELECT pg_temp.ensure_index('received_invoice_header', 'ix_received_invoice_header_period', ARRAY['billing_period_id']);
SELECT pg_temp.ensure_index('received_invoice_line_item', 'ix_received_invoice_line_item_header', ARRAY['received_invoice_header_id']);
SELECT pg_temp.ensure_index('invoice_comparison', 'ix_invoice_comparison_expected', ARRAY['expected_invoice_header_id']);
SELECT pg_temp.ensure_index('invoice_comparison', 'ix_invoice_comparison_received', ARRAY['received_invoice_header_id']);
