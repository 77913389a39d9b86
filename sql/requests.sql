-- Statements behind on-demand and scheduled report requests (issue #4): loading and validating
-- a generated_report row, and creating rows from the launchpad or a schedule.

-- name: load_request
-- parameters as text, and only up to :max_bytes: the driver would parse JSONB itself, and a
-- 5,000-deep value makes Python's JSON parser recurse past its limit (lib/requests/parameters.py
-- checks the depth before parsing). file_path / file_hash: a completed row's object is checked.
SELECT g.id, g.organization_id, o.name AS organization_name, g.report_template_id, g.scheduled_report_id,
       g.generation_source::text AS generation_source, g.report_type::text AS report_type, g.name,
       g.report_status::text AS report_status, g.project_id, g.contract_id, g.billing_period_id,
       CASE WHEN octet_length(g.parameters::text) <= :max_bytes THEN g.parameters::text END AS parameters,
       octet_length(g.parameters::text) AS parameters_bytes,
       g.file_format::text AS file_format, g.dagster_run_id, g.file_path, g.file_hash,
       to_jsonb(g) ->> 'invoice_direction' AS invoice_direction  -- the platform's column (Part A+), NULL where absent
FROM generated_report g
JOIN organization o ON o.id = g.organization_id
WHERE g.id = :id

-- name: template_by_id
SELECT id, organization_id, project_id, report_type::text AS report_type, is_active, name,
       file_format::text AS file_format, template_config, include_charts, include_summary,
       include_line_items, logo_path, header_text, footer_text, brand_color, default_contract_id
FROM report_template
WHERE id = :id

-- name: contract_organization
SELECT COALESCE(c.organization_id, p.organization_id) AS organization_id
FROM contract c LEFT JOIN project p ON p.id = c.project_id
WHERE c.id = :id

-- name: project_organization
SELECT organization_id FROM project WHERE id = :id

-- name: member_organization
SELECT organization_id FROM member WHERE id = :id

-- name: schedule_organization
SELECT organization_id FROM scheduled_report WHERE id = :id

-- name: counterparty_exists
SELECT id FROM counterparty WHERE id = :id

-- name: billing_period_by_id
SELECT id, name, start_date, end_date FROM billing_period WHERE id = :id

-- name: billing_periods_within
-- Whole billing periods inside [date_from, date_to], oldest first.
SELECT id, name, start_date, end_date FROM billing_period
WHERE start_date >= :date_from AND end_date <= :date_to
ORDER BY start_date

-- name: latest_completed_billing_period
-- seed 000 §8 get_latest_completed_billing_period(): the newest period that has ended.
SELECT id, name, start_date, end_date FROM billing_period
WHERE end_date < :today
ORDER BY end_date DESC, id DESC
LIMIT 1

-- name: insert_request
INSERT INTO generated_report (
    organization_id, report_template_id, scheduled_report_id, generation_source, report_type, name,
    report_status, project_id, contract_id, billing_period_id, parameters, file_format, requested_by)
VALUES (
    :organization_id, :report_template_id, :scheduled_report_id, CAST(:generation_source AS generation_source),
    CAST(:report_type AS report_type), :name, 'pending', :project_id, :contract_id, :billing_period_id,
    CAST(:parameters AS jsonb), CAST(:file_format AS file_format), CAST(:requested_by AS uuid))
RETURNING id

-- name: pending_requests
-- Pending rows, oldest first, in an id window (the request sensor looks at new rows above its
-- cursor first, then at every pending row below it: set back to pending, committed late, or
-- launched already — lib/requests/queue.run_key and the runs each key has decide).
SELECT id, dagster_run_id AS last_run_id, processing_started_at, processing_completed_at,
       organization_id, report_type::text AS report_type,
       file_format::text AS file_format, generation_source::text AS generation_source, scheduled_report_id
FROM generated_report
WHERE report_status = 'pending' AND id > :after_id
  AND (CAST(:up_to AS bigint) IS NULL OR id <= CAST(:up_to AS bigint))
ORDER BY id
LIMIT :limit

-- name: active_schedules
-- Schedules to look at now: due ones, and ones without a next run time yet. Rows that carry an
-- error come after the others: a platform trigger that keeps next_run_at set on a schedule that
-- cannot run leaves it due on every tick, and many of those must not push a healthy one out.
SELECT s.id, s.organization_id, s.report_template_id, s.name, s.report_frequency::text AS report_frequency,
       s.day_of_month, s.time_of_day, s.timezone, s.project_id, s.contract_id, s.billing_period_id,
       s.next_run_at, s.last_run_at, s.last_run_error, t.report_type::text AS report_type,
       t.file_format::text AS file_format, t.organization_id AS template_organization_id
FROM scheduled_report s
LEFT JOIN report_template t ON t.id = s.report_template_id
WHERE s.is_active AND s.report_frequency <> 'on_demand'
  AND (s.next_run_at IS NULL OR s.next_run_at <= :now)
ORDER BY s.last_run_error IS NOT NULL, s.next_run_at ASC NULLS LAST, s.id
LIMIT :limit

-- name: set_first_run
-- A schedule without a next slot, or whose next slot is not after its last run (that slot has
-- run: a trigger set it back), gets the first slot after now, without a report. RETURNING gives
-- what the row holds: a trigger on scheduled_report may have computed it instead.
UPDATE scheduled_report SET next_run_at = :next_run_at, last_run_error = NULL, updated_at = now()
WHERE id = :id AND is_active AND (next_run_at IS NULL OR next_run_at <= last_run_at)
RETURNING next_run_at

-- name: claim_slot
-- Only one claimer wins a slot: the row must still show the slot this evaluation saw, and that
-- slot must be after the last run. last_run_at is the evaluation time (at or after the slot, on
-- the same clock as the due check), so a platform trigger that recomputes next_run_at from
-- last_run_at on every UPDATE lands on the first slot after now, never on the one just fired.
UPDATE scheduled_report
SET next_run_at = :next_run_at, last_run_at = :now, last_run_status = 'pending', last_run_error = NULL,
    updated_at = now()
WHERE id = :id AND is_active AND next_run_at = :slot AND (last_run_at IS NULL OR next_run_at > last_run_at)
RETURNING next_run_at

-- name: schedule_error
-- A schedule that cannot run (bad time zone, missing day): said once on the row, not every tick.
-- Returns the row only to the one evaluation that recorded a new error (it tells the owners).
-- "New" is the text alone: a platform trigger sets next_run_at again on every UPDATE, so a
-- NULL next_run_at cannot mark a schedule as already told.
UPDATE scheduled_report
SET last_run_status = 'failed', last_run_error = :error, next_run_at = NULL, updated_at = now()
WHERE id = :id AND last_run_error IS DISTINCT FROM :error
RETURNING id

-- name: schedule_for_notice
SELECT s.name, s.recipients, o.name AS organization_name
FROM scheduled_report s JOIN organization o ON o.id = s.organization_id
WHERE s.id = :id

-- name: billing_period_by_start
SELECT id, name, start_date, end_date FROM billing_period WHERE start_date = :start_date
ORDER BY id LIMIT 1

-- name: schedule_outcome
-- The schedule follows the outcome of its newest report (an older report finishing late does not
-- overwrite a newer one's outcome).
UPDATE scheduled_report s
SET last_run_status = CAST(:status AS report_status), last_run_error = :error, updated_at = now()
WHERE s.id = :scheduled_report_id
  AND NOT EXISTS (SELECT 1 FROM generated_report g
                  WHERE g.scheduled_report_id = s.id AND g.id > :generated_report_id)

-- name: previous_scheduled_status
-- The outcome of the schedule's report before this one: a failure streak starts when it was not failed.
SELECT report_status::text AS report_status FROM generated_report
WHERE scheduled_report_id = :scheduled_report_id AND id < :generated_report_id
  AND report_status IN ('completed', 'failed')
ORDER BY id DESC LIMIT 1

-- name: stuck_reports
-- Rows in processing for a while, with the Dagster run that holds them. A row in processing
-- without a dagster_run_id was claimed by another processor (the platform's own): never ours.
-- In an id window after :after_id (the reaper's cursor rotates through them, so rows past one
-- window, or behind rows judged not ours on every tick, are judged too).
SELECT id, organization_id, report_type::text AS report_type, file_format::text AS file_format,
       dagster_run_id, scheduled_report_id, processing_started_at
FROM generated_report
WHERE report_status = 'processing' AND processing_started_at < :started_before AND dagster_run_id IS NOT NULL
  AND id > :after_id
ORDER BY id
LIMIT :limit

-- name: report_for_failure
SELECT id, organization_id, report_type::text AS report_type, file_format::text AS file_format,
       scheduled_report_id, report_status::text AS report_status, dagster_run_id, processing_started_at,
       processing_completed_at
FROM generated_report
WHERE id = :id

-- name: report_of_run
-- The row a launchpad run created and claimed (for its re-execution to continue).
SELECT id FROM generated_report WHERE dagster_run_id IN :run_ids ORDER BY id DESC LIMIT 1

-- name: release_request
-- A pending row a dead batch run never claimed, offered again: only while it still names the run
-- the caller judged (:seen_run_id, the one its run key was made from), and it then names :marker
-- ('released-<n>:<run id>'), so its run key changes and the request sensor launches it anew.
UPDATE generated_report
SET dagster_run_id = CAST(:marker AS text)
WHERE id = :id AND report_status = 'pending'
  AND dagster_run_id IS NOT DISTINCT FROM CAST(:seen_run_id AS text)
RETURNING id
