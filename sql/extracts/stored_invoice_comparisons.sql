-- Comparisons the platform stored itself for one billing period: a row pairs an expected and a
-- received header when either of them belongs to the period. A comparison made against a
-- superseded expected version is history, not a verdict on the current one: left out.
SELECT
    ic.id                          AS comparison_id,
    ic.expected_invoice_header_id  AS expected_header_id,
    ic.received_invoice_header_id  AS received_header_id,
    ic.variance_amount             AS stored_variance,
    ic.status::text                AS stored_status,
    ic.final_amount,
    ic.adjustment_amount,
    ic.created_at,
    {{ platform.direction('ic', 'invoice_comparison') }} AS invoice_direction
FROM invoice_comparison ic
LEFT JOIN expected_invoice_header e ON e.id = ic.expected_invoice_header_id
LEFT JOIN received_invoice_header r ON r.id = ic.received_invoice_header_id
WHERE (e.billing_period_id = :billing_period_id OR r.billing_period_id = :billing_period_id)
  AND {{ platform.current('e') }}
ORDER BY ic.id
