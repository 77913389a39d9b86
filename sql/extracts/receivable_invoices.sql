-- Invoices to clients that may be outstanding at :as_of_date (receivables aging, issue #3 item 2):
-- status sent, disputed or paid, issued on or before the as-of date (an invoice without an
-- invoice_date counts as issued when it was created). One row per invoice with what had been
-- paid by the as-of date; payments dated later are ignored, so a month computed again later
-- gives the same balances. payment_count counts every payment ever recorded: a `paid` invoice
-- with none at all is settled. The organization comes from the project, else the contract; the
-- customer is the invoice's counterparty, else the contract's. NULL organization = unresolved
-- (reported by an asset check, never dropped).
-- Every printed reference carries its own organization (project_, contract_, counterparty_organization_ids)
-- for the tenant-boundary check (lib/rules/boundaries.py): a row naming another organization's
-- contract, project or client is left out and reported, never printed.
WITH {% include "counterparty_owners.sql" %}
SELECT
    h.id                                            AS invoice_id,
    COALESCE(p.organization_id, c.organization_id)  AS organization_id,
    p.organization_id                               AS project_organization_id,
    COALESCE(c.organization_id, cpj.organization_id) AS contract_organization_id,
    cpo.organization_ids                            AS counterparty_organization_ids,
    h.invoice_number,
    COALESCE(h.counterparty_id, c.counterparty_id)  AS customer_id,
    cp.name                                         AS customer_name,
    h.project_id,
    p.name                                          AS project_name,
    h.contract_id,
    c.name                                          AS contract_name,
    cur.code                                        AS currency,
    COALESCE(h.invoice_date, CAST(h.created_at AS DATE)) AS issue_date,
    h.due_date,
    h.status::text                                  AS status,
    h.total_amount,
    COALESCE(pay.paid_to_date, 0)                   AS paid_to_date,
    COALESCE(pay.payments_to_date, 0)               AS payments_to_date,
    COALESCE(pay.payment_count, 0)                  AS payment_count,
    pay.last_paid_date
FROM invoice_header h
LEFT JOIN project p ON p.id = h.project_id
LEFT JOIN contract c ON c.id = h.contract_id
LEFT JOIN project cpj ON cpj.id = c.project_id
LEFT JOIN counterparty cp ON cp.id = COALESCE(h.counterparty_id, c.counterparty_id)
LEFT JOIN counterparty_owners cpo ON cpo.counterparty_id = COALESCE(h.counterparty_id, c.counterparty_id)
LEFT JOIN currency cur ON cur.id = h.currency_id
LEFT JOIN (
    SELECT
        invoice_header_id,
        SUM(amount) FILTER (WHERE paid_date <= :as_of_date)     AS paid_to_date,
        COUNT(*) FILTER (WHERE paid_date <= :as_of_date)        AS payments_to_date,
        COUNT(*)                                                AS payment_count,
        MAX(paid_date) FILTER (WHERE paid_date <= :as_of_date)  AS last_paid_date
    FROM invoice_payment
    GROUP BY invoice_header_id
) pay ON pay.invoice_header_id = h.id
WHERE h.status IN ('sent', 'disputed', 'paid')
  AND COALESCE(h.invoice_date, CAST(h.created_at AS DATE)) <= :as_of_date
ORDER BY h.id
