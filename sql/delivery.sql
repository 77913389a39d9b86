-- name: report_for_delivery
-- A generated report with what delivery needs: organization, period and its schedule (if any).
SELECT g.id, g.organization_id, o.name AS organization_name, g.report_type::text AS report_type,
       g.name, g.report_status::text AS report_status, g.file_format::text AS file_format,
       g.file_path, g.file_size_bytes, g.file_hash, g.processing_error, g.parameters, g.record_count,
       g.dagster_run_id, g.created_at,
       b.name AS period_name, b.start_date AS period_start, b.end_date AS period_end,
       s.id AS scheduled_report_id, s.name AS schedule_name, s.recipients,
       s.delivery_method::text AS delivery_method, s.s3_destination
FROM generated_report g
JOIN organization o ON o.id = g.organization_id
LEFT JOIN billing_period b ON b.id = g.billing_period_id
-- a schedule of another organization is never joined: its recipients never get this report
LEFT JOIN scheduled_report s ON s.id = g.scheduled_report_id AND s.organization_id = g.organization_id
WHERE g.id = :id

-- name: claim
-- Take (report, channel, recipient) before sending. A new row, or one whose last attempt failed,
-- is claimed; a row already sent or claimed by another run returns nothing and is skipped
-- (a claim older than :reclaim_after seconds, when given, counts as abandoned).
INSERT INTO report_delivery (generated_report_id, channel, recipient, status, attempts, claimed_at)
VALUES (:generated_report_id, :channel, :recipient, 'claimed', 1, now())
ON CONFLICT (generated_report_id, channel, recipient) DO UPDATE
SET status = 'claimed', attempts = report_delivery.attempts + 1, claimed_at = now(),
    error = NULL, provider_message_id = NULL
WHERE report_delivery.status = 'failed'
   OR (report_delivery.status = 'claimed'
       AND CAST(:reclaim_after AS double precision) IS NOT NULL
       AND report_delivery.claimed_at < now() - make_interval(secs => CAST(:reclaim_after AS double precision)))
RETURNING id, attempts

-- name: current_status
SELECT status, attempts, error FROM report_delivery
WHERE generated_report_id = :generated_report_id AND channel = :channel AND recipient = :recipient

-- name: mark_sent
UPDATE report_delivery
SET status = 'sent', provider_message_id = :provider_message_id, sent_at = now(), error = NULL
WHERE id = :id

-- name: mark_failed
UPDATE report_delivery SET status = 'failed', error = :error WHERE id = :id
