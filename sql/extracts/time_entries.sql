-- Time entries dated from :date_from to :date_to (both inclusive), one row per entry, with the
-- member, task and project. A time entry reaches its project only through its task.
-- organization_id is the PROJECT's organization (the project owns the work, its customers and
-- its revenue); member.organization_id is the fallback when the project has none, and is kept
-- as member_organization_id: an entry whose member belongs to another organization than its
-- project is left out and reported (lib/rules/boundaries.py), never printed.
-- Currencies are CHAR(3): trimmed so 'USD' compares equal everywhere.
SELECT
    te.id                                           AS entry_id,
    COALESCE(p.organization_id, m.organization_id)  AS organization_id,
    p.organization_id                               AS project_organization_id,
    m.organization_id                               AS member_organization_id,
    te.member_id,
    m.name                                          AS member_name,
    m.email                                         AS member_email,
    te.task_id,
    t.name                                          AS task_name,
    t.project_id,
    p.name                                          AS project_name,
    te.date                                         AS entry_date,
    te.duration_minutes,
    te.billable,
    te.billing_rate_snapshot,
    RTRIM(te.billing_rate_currency)                 AS billing_rate_currency,
    te.cost_rate_snapshot,
    RTRIM(te.cost_rate_currency)                    AS cost_rate_currency
FROM time_entry te
JOIN task t ON t.id = te.task_id
JOIN member m ON m.id = te.member_id
LEFT JOIN project p ON p.id = t.project_id
WHERE te.date >= CAST(:date_from AS DATE)
  AND te.date <= CAST(:date_to AS DATE)
ORDER BY te.date, te.id
