-- Expected contractor invoices of one billing period, one row per line (a header without lines
-- gives one row with NULL line columns). The organization comes from the project, else the
-- contract; NULL means it cannot be resolved (reported by an asset check, never dropped). Only
-- current versions: a recalculated expected invoice supersedes the old one, which never counts.
-- Line totals keep their stored sign (deductions are negative).
-- Every printed reference carries its own organization (project_, contract_, counterparty_organization_ids)
-- for the tenant-boundary check (lib/rules/boundaries.py): a row naming another organization's
-- contract, project or client is left out and reported, never printed.
WITH {% include "counterparty_owners.sql" %}
SELECT
    h.id                                        AS header_id,
    COALESCE(p.organization_id, c.organization_id) AS organization_id,
    p.organization_id                           AS project_organization_id,
    COALESCE(c.organization_id, cpj.organization_id) AS contract_organization_id,
    cpo.organization_ids                        AS counterparty_organization_ids,
    h.project_id,
    p.name                                      AS project_name,
    h.contract_id,
    c.name                                      AS contract_name,
    h.counterparty_id,
    cp.name                                     AS counterparty_name,
    cur.code                                    AS currency,
    h.total_amount                              AS header_total,
    CAST(NULL AS VARCHAR)                       AS invoice_number,
    {{ platform.direction('h', 'expected_invoice_header') }} AS invoice_direction,
    l.id                                        AS line_id,
    t.code                                      AS line_type,
    t.name                                      AS line_type_name,
    l.description,
    l.quantity,
    l.line_unit_price                           AS unit_price,
    l.line_total_amount                         AS line_total
FROM expected_invoice_header h
LEFT JOIN project p ON p.id = h.project_id
LEFT JOIN contract c ON c.id = h.contract_id
LEFT JOIN project cpj ON cpj.id = c.project_id
LEFT JOIN counterparty cp ON cp.id = h.counterparty_id
LEFT JOIN counterparty_owners cpo ON cpo.counterparty_id = h.counterparty_id
LEFT JOIN currency cur ON cur.id = h.currency_id
LEFT JOIN expected_invoice_line_item l ON l.expected_invoice_header_id = h.id
LEFT JOIN invoice_line_item_type t ON t.id = l.invoice_line_item_type_id
WHERE h.billing_period_id = :billing_period_id
  AND {{ platform.current('h') }}
ORDER BY h.id, l.id
