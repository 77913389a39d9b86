-- Comparisons the platform stored itself for one billing period: a row pairs an expected and a
-- received header when either of them belongs to the period. A comparison made against a
-- superseded expected version is history, not a verdict on the current one: left out. Each side's
-- organization (project, else contract) is given: a stored comparison linking two organizations
-- (also to a header of another period) is caught by pairs_within_one_organization.
SELECT
    ic.id                          AS comparison_id,
    ic.expected_invoice_header_id  AS expected_header_id,
    ic.received_invoice_header_id  AS received_header_id,
    ic.variance_amount             AS stored_variance,
    ic.status::text                AS stored_status,
    ic.final_amount,
    ic.adjustment_amount,
    ic.created_at,
    {{ platform.direction('ic', 'invoice_comparison') }} AS invoice_direction,
    COALESCE(ep.organization_id, ec.organization_id) AS expected_organization_id,
    COALESCE(rp.organization_id, rc.organization_id) AS received_organization_id
FROM invoice_comparison ic
LEFT JOIN expected_invoice_header e ON e.id = ic.expected_invoice_header_id
LEFT JOIN received_invoice_header r ON r.id = ic.received_invoice_header_id
LEFT JOIN project ep ON ep.id = e.project_id
LEFT JOIN contract ec ON ec.id = e.contract_id
LEFT JOIN project rp ON rp.id = r.project_id
LEFT JOIN contract rc ON rc.id = r.contract_id
WHERE (e.billing_period_id = :billing_period_id OR r.billing_period_id = :billing_period_id)
  AND {{ platform.current('e') }}
ORDER BY ic.id
