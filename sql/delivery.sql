-- Delivery of completed reports (lib/delivery/deliver.py, lib/delivery/outcome.py).
-- Every state change is conditional on the state the caller saw: a claim is the caller's only while
-- the row is still `claimed` with the attempt number it claimed (`attempts`).
--
-- A claim is stale when it is older than :lease seconds and its run no longer beats: no heartbeat
-- of claimed_by_run newer than :dead_after seconds and not ended (lib/operations/heartbeat.py). A
-- claim without a run id, or whose run never beat, is judged by its age alone.
-- Failure notices ('failure-notice:<address>', 'delivery-notice:<address>') are rows too; they are
-- never counted as the report's deliveries and never retried.

-- name: report_for_delivery
-- A generated report with what delivery needs: organization, period and its schedule (if any).
SELECT g.id, g.organization_id, o.name AS organization_name, g.report_type::text AS report_type,
       g.name, g.report_status::text AS report_status, g.file_format::text AS file_format,
       g.file_path, g.file_size_bytes, g.file_hash, g.processing_error,
       CAST(g.parameters AS text) AS parameters,  -- parsed bounded (lib/requests/parameters.py): any row is deliverable
       g.record_count, g.summary_data,  -- jsonb, read bounded (lib/jsonutil.database_loads)
       g.dagster_run_id, g.created_at,
       b.name AS period_name, b.start_date AS period_start, b.end_date AS period_end,
       s.id AS scheduled_report_id, s.name AS schedule_name,
       -- as text, parsed bounded (parse_recipients): psycopg's json.loads would recurse on a deep value
       CAST(s.recipients AS text) AS recipients,
       s.delivery_method::text AS delivery_method, s.s3_destination
FROM generated_report g
JOIN organization o ON o.id = g.organization_id
LEFT JOIN billing_period b ON b.id = g.billing_period_id
-- a schedule of another organization is never joined: its recipients never get this report
LEFT JOIN scheduled_report s ON s.id = g.scheduled_report_id AND s.organization_id = g.organization_id
WHERE g.id = :id

-- name: claim_new
-- Take a (report, channel, recipient) never tried before; nothing when a row exists already.
INSERT INTO report_delivery (generated_report_id, channel, recipient, status, attempts, claimed_at, claimed_by_run)
VALUES (:generated_report_id, :channel, :recipient, 'claimed', 1, now(), :run_id)
ON CONFLICT (generated_report_id, channel, recipient) DO NOTHING
RETURNING id, attempts

-- name: reclaim
-- Take a row whose last attempt failed (:due_only: only once its next_attempt_at has come), or a
-- stale claim that never handed its message over (:due_only: only below :max_attempts). The
-- abandoned attempt is written to the history.
UPDATE report_delivery d
SET status = 'claimed', attempts = d.attempts + 1, claimed_at = now(), claimed_by_run = :run_id,
    error = NULL, detail = NULL, provider_message_id = NULL, handed_over_at = NULL, next_attempt_at = NULL,
    history = CASE WHEN d.status = 'claimed' THEN d.history || jsonb_build_array(jsonb_build_object(
                  'attempt', d.attempts, 'run_id', d.claimed_by_run, 'claimed_at', d.claimed_at,
                  'ended_at', now(), 'outcome', 'abandoned',
                  'detail', 'its run stopped before finishing; taken over after the lease'))
              ELSE d.history END
WHERE d.generated_report_id = :generated_report_id AND d.channel = :channel AND d.recipient = :recipient
  AND ((d.status = 'failed' AND (NOT CAST(:due_only AS boolean) OR d.next_attempt_at <= now()))
       OR (d.status = 'claimed' AND d.handed_over_at IS NULL
           AND (NOT CAST(:due_only AS boolean) OR d.attempts < :max_attempts)
           AND d.claimed_at < now() - make_interval(secs => CAST(:lease AS double precision))
           AND NOT reporting_run_alive(d.claimed_by_run, CAST(:dead_after AS double precision))))
RETURNING d.id, d.attempts

-- name: settle_handed_over
-- Stale claims whose message was handed over (the whole message reached the mail server, then
-- the worker stopped before the reply): counted as sent, never sent again. One key, or all of
-- them when :generated_report_id is NULL.
UPDATE report_delivery d
SET status = 'sent', sent_at = d.handed_over_at,
    detail = 'handed to the mail server; its worker stopped before the reply came: '
             'counted as delivered, not sent again',
    history = d.history || jsonb_build_array(jsonb_build_object(
        'attempt', d.attempts, 'run_id', d.claimed_by_run, 'claimed_at', d.claimed_at, 'ended_at', now(),
        'outcome', 'handed over', 'detail', 'worker stopped after handing the message over'))
WHERE d.status = 'claimed' AND d.handed_over_at IS NOT NULL
  AND (CAST(:generated_report_id AS bigint) IS NULL
       OR (d.generated_report_id = :generated_report_id AND d.channel = :channel AND d.recipient = :recipient))
  AND d.claimed_at < now() - make_interval(secs => CAST(:lease AS double precision))
  AND NOT reporting_run_alive(d.claimed_by_run, CAST(:dead_after AS double precision))
RETURNING d.id, d.generated_report_id

-- name: give_up_abandoned
-- Stale claims abandoned :max_attempts times (a message that kills its worker): failed for good.
UPDATE report_delivery d
SET status = 'failed', next_attempt_at = NULL,
    error = 'abandoned by ' || d.attempts || ' runs that stopped while sending; not retried again: deliver it by hand',
    history = d.history || jsonb_build_array(jsonb_build_object(
        'attempt', d.attempts, 'run_id', d.claimed_by_run, 'claimed_at', d.claimed_at, 'ended_at', now(),
        'outcome', 'abandoned', 'detail', 'its run stopped before finishing; attempts used up'))
WHERE d.status = 'claimed' AND d.handed_over_at IS NULL AND d.attempts >= :max_attempts
  AND d.recipient NOT LIKE 'failure-notice:%' AND d.recipient NOT LIKE 'delivery-notice:%'
  AND d.claimed_at < now() - make_interval(secs => CAST(:lease AS double precision))
  AND NOT reporting_run_alive(d.claimed_by_run, CAST(:dead_after AS double precision))
RETURNING d.id, d.generated_report_id

-- name: current_status
SELECT status, attempts, error, detail, next_attempt_at FROM report_delivery
WHERE generated_report_id = :generated_report_id AND channel = :channel AND recipient = :recipient

-- name: mark_handed_over
-- The last moment to find out the claim was taken over: nothing returned → do not finish sending.
UPDATE report_delivery SET handed_over_at = now()
WHERE id = :id AND status = 'claimed' AND attempts = :attempts
RETURNING id

-- name: mark_sent
UPDATE report_delivery d
SET status = 'sent', provider_message_id = :provider_message_id, sent_at = now(), error = NULL,
    detail = :detail, next_attempt_at = NULL,
    history = d.history || jsonb_build_array(jsonb_build_object(
        'attempt', d.attempts, 'run_id', d.claimed_by_run, 'claimed_at', d.claimed_at, 'ended_at', now(),
        'outcome', 'sent', 'detail', CAST(:detail AS text)))
WHERE d.id = :id AND d.status = 'claimed' AND d.attempts = :attempts
RETURNING d.id, d.generated_report_id

-- name: mark_failed
-- :retry_in seconds until the retry sensor tries again; NULL: not retried automatically.
UPDATE report_delivery d
SET status = 'failed', error = :error,
    next_attempt_at = now() + make_interval(secs => CAST(:retry_in AS double precision)),
    history = d.history || jsonb_build_array(jsonb_build_object(
        'attempt', d.attempts, 'run_id', d.claimed_by_run, 'claimed_at', d.claimed_at, 'ended_at', now(),
        'outcome', 'failed', 'detail', CAST(:error AS text),
        'retry_at', now() + make_interval(secs => CAST(:retry_in AS double precision))))
WHERE d.id = :id AND d.status = 'claimed' AND d.attempts = :attempts
RETURNING d.next_attempt_at

-- name: report_deliveries
-- The report's own deliveries (notices left out): what its schedule's status says.
SELECT channel, recipient, status, attempts, error, next_attempt_at FROM report_delivery
WHERE generated_report_id = :id
  AND recipient NOT LIKE 'failure-notice:%' AND recipient NOT LIKE 'delivery-notice:%'
ORDER BY channel, recipient

-- name: previous_report_failing
-- Whether the schedule's report before this one failed, or still has failed deliveries: a new
-- delivery failure then continues a streak whose owners were told already.
SELECT g.report_status::text = 'failed'
       OR EXISTS (SELECT 1 FROM report_delivery d
                  WHERE d.generated_report_id = g.id AND d.status = 'failed'
                    AND d.recipient NOT LIKE 'failure-notice:%' AND d.recipient NOT LIKE 'delivery-notice:%')
FROM generated_report g
WHERE g.scheduled_report_id = :scheduled_report_id AND g.id < :generated_report_id
  AND g.report_status IN ('completed', 'failed')
ORDER BY g.id DESC LIMIT 1

-- name: due_reports
-- Completed reports with deliveries to try again now: failed ones whose time has come and stale
-- claims that never handed their message over. `round` is the highest attempt among them.
SELECT d.generated_report_id, g.organization_id, max(d.attempts) AS round,
       min(CASE WHEN d.status = 'failed' THEN d.next_attempt_at
                ELSE d.claimed_at + make_interval(secs => CAST(:lease AS double precision)) END) AS due_at,
       count(*) AS due
FROM report_delivery d
JOIN generated_report g ON g.id = d.generated_report_id
WHERE g.report_status = 'completed' AND g.file_path IS NOT NULL
  AND d.recipient NOT LIKE 'failure-notice:%' AND d.recipient NOT LIKE 'delivery-notice:%'
  AND ((d.status = 'failed' AND d.next_attempt_at <= now())
       OR (d.status = 'claimed' AND d.handed_over_at IS NULL AND d.attempts < :max_attempts
           AND d.claimed_at < now() - make_interval(secs => CAST(:lease AS double precision))
           AND NOT reporting_run_alive(d.claimed_by_run, CAST(:dead_after AS double precision))))
GROUP BY d.generated_report_id, g.organization_id
ORDER BY due_at, d.generated_report_id
LIMIT :limit

-- name: due_deliveries
-- One report's deliveries a retry round takes: failed ones whose time has come, stale claims.
SELECT d.channel, d.recipient FROM report_delivery d
WHERE d.generated_report_id = :id
  AND d.recipient NOT LIKE 'failure-notice:%' AND d.recipient NOT LIKE 'delivery-notice:%'
  AND ((d.status = 'failed' AND d.next_attempt_at <= now())
       OR (d.status = 'claimed' AND d.handed_over_at IS NULL AND d.attempts < :max_attempts
           AND d.claimed_at < now() - make_interval(secs => CAST(:lease AS double precision))
           AND NOT reporting_run_alive(d.claimed_by_run, CAST(:dead_after AS double precision))))
ORDER BY d.channel, d.recipient

-- name: drop_unreachable
-- After a retry round: due deliveries it could not take (the schedule no longer names that
-- recipient, destination or channel) are not retried any more, so no round is launched for them.
UPDATE report_delivery d
SET status = 'failed', next_attempt_at = NULL,
    error = coalesce(d.error || ' ', '') || '(no longer among the report''s recipients: not retried)'
WHERE d.generated_report_id = :id
  AND d.recipient NOT LIKE 'failure-notice:%' AND d.recipient NOT LIKE 'delivery-notice:%'
  AND d.channel || ' ' || d.recipient NOT IN :tried
  AND ((d.status = 'failed' AND d.next_attempt_at IS NOT NULL)
       OR (d.status = 'claimed' AND d.handed_over_at IS NULL
           AND d.claimed_at < now() - make_interval(secs => CAST(:lease AS double precision))
           AND NOT reporting_run_alive(d.claimed_by_run, CAST(:dead_after AS double precision))))
RETURNING d.id

-- name: undelivered_reports
-- Completed scheduled reports with fewer deliveries than their schedule names (its recipients,
-- plus one for an S3 copy): the run died between render and delivery, its delivery step failed
-- before claiming (a bad setting), or it stopped between two recipients. Only once that run is
-- gone: completed more than :lease seconds ago, its run not beating (ended, or no beat for
-- :dead_after seconds), and only reports completed within :window_hours, so old history is never
-- delivered out of the blue. `rows` goes into the run key: one round per state of the rows.
SELECT g.id AS generated_report_id, g.organization_id, count(d.id) AS rows,
       g.processing_completed_at AS due_at
FROM generated_report g
JOIN scheduled_report s ON s.id = g.scheduled_report_id AND s.organization_id = g.organization_id
LEFT JOIN report_delivery d ON d.generated_report_id = g.id
     AND d.recipient NOT LIKE 'failure-notice:%' AND d.recipient NOT LIKE 'delivery-notice:%'
WHERE g.report_status = 'completed' AND g.file_path IS NOT NULL AND s.delivery_method IS NOT NULL
  AND g.processing_completed_at > now() - make_interval(hours => CAST(:window_hours AS integer))
  AND g.processing_completed_at < now() - make_interval(secs => CAST(:lease AS double precision))
  AND NOT reporting_run_alive(g.dagster_run_id, CAST(:dead_after AS double precision))
GROUP BY g.id, g.organization_id, g.processing_completed_at, s.delivery_method, s.recipients
HAVING count(d.id) < CASE WHEN s.delivery_method IN ('email', 'both') THEN
                              CASE coalesce(jsonb_typeof(s.recipients), 'null')
                                  WHEN 'array' THEN jsonb_array_length(s.recipients)
                                  WHEN 'null' THEN 0 ELSE 1 END
                          ELSE 0 END
                     + CASE WHEN s.delivery_method IN ('s3', 'both') THEN 1 ELSE 0 END
ORDER BY g.processing_completed_at, g.id
LIMIT :limit
