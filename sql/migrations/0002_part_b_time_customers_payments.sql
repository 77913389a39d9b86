-- Part B: time, customers and payments (added by this project, in Part A's style).

CREATE TABLE IF NOT EXISTS member (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organization (id),
    name             VARCHAR,
    email            VARCHAR NOT NULL,
    created_at       TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS task (
    id          BIGSERIAL PRIMARY KEY,
    project_id  BIGINT NOT NULL REFERENCES project (id),
    name        VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS time_entry (
    id                     BIGSERIAL PRIMARY KEY,
    task_id                BIGINT NOT NULL REFERENCES task (id),
    member_id              BIGINT NOT NULL REFERENCES member (id),
    date                   DATE NOT NULL,
    duration_minutes       INTEGER NOT NULL CHECK (duration_minutes > 0),
    billable               BOOLEAN NOT NULL DEFAULT true,
    billing_rate_snapshot  NUMERIC(12, 2),
    billing_rate_currency  CHAR(3),
    cost_rate_snapshot     NUMERIC(12, 2),
    cost_rate_currency     CHAR(3),
    description            TEXT,
    created_at             TIMESTAMPTZ DEFAULT now(),
    CONSTRAINT time_entry_billing_rate_pair
        CHECK ((billing_rate_snapshot IS NULL) = (billing_rate_currency IS NULL)),
    CONSTRAINT time_entry_cost_rate_pair
        CHECK ((cost_rate_snapshot IS NULL) = (cost_rate_currency IS NULL))
);

CREATE TABLE IF NOT EXISTS customer_project (
    customer_id  BIGINT NOT NULL REFERENCES counterparty (id),
    project_id   BIGINT NOT NULL REFERENCES project (id),
    UNIQUE (customer_id, project_id)
);

CREATE TABLE IF NOT EXISTS invoice_payment (
    id                 BIGSERIAL PRIMARY KEY,
    invoice_header_id  BIGINT NOT NULL REFERENCES invoice_header (id),
    amount             NUMERIC NOT NULL CHECK (amount > 0),
    paid_date          DATE NOT NULL,
    reference          VARCHAR,
    created_at         TIMESTAMPTZ DEFAULT now()
);

SELECT pg_temp.ensure_index('time_entry', 'ix_time_entry_date', ARRAY['date']);
SELECT pg_temp.ensure_index('task', 'ix_task_project', ARRAY['project_id']);
SELECT pg_temp.ensure_index('invoice_payment', 'ix_invoice_payment_header', ARRAY['invoice_header_id']);
