-- name: active_template
-- The organization's org-wide active template for a report type (the newest when several).
SELECT id, organization_id, name, file_format::text AS file_format, template_config, include_charts, include_summary,
       include_line_items, logo_path, header_text, footer_text, brand_color, default_contract_id
FROM report_template
WHERE organization_id = :organization_id AND report_type = CAST(:report_type AS report_type)
  AND project_id IS NULL AND is_active
ORDER BY updated_at DESC NULLS LAST, id DESC
LIMIT 1

-- name: start_report
INSERT INTO generated_report (
    organization_id, report_template_id, generation_source, report_type, name, report_status,
    billing_period_id, parameters, file_format, processing_started_at, dagster_run_id)
VALUES (
    :organization_id, :report_template_id, CAST(:generation_source AS generation_source),
    CAST(:report_type AS report_type), :name, 'processing', :billing_period_id,
    CAST(:parameters AS jsonb), CAST(:file_format AS file_format), now(), :dagster_run_id)
RETURNING id

-- name: complete_report
-- Only a row still processing in the completing run: one the reaper failed meanwhile (its run
-- looked dead), or a user set back to pending, or another run took, is left as it is.
UPDATE generated_report
SET report_status = 'completed', file_path = :file_path, file_size_bytes = :file_size_bytes,
    file_hash = :file_hash, record_count = :record_count, summary_data = CAST(:summary_data AS jsonb),
    processing_completed_at = now(), processing_error = NULL, expires_at = now() + interval '90 days',
    processing_time_ms = CAST(EXTRACT(EPOCH FROM (now() - processing_started_at)) * 1000 AS INTEGER)
WHERE id = :id AND report_status = 'processing'
  AND dagster_run_id IS NOT DISTINCT FROM CAST(:dagster_run_id AS text)
RETURNING id

-- name: fail_report
-- Only an unfinished row fails (once): a completed report is never turned into a failure, and two
-- reapers failing the same row write one REPORT_FAILED. A row never claimed has no processing time.
-- :pending / :processing say which unfinished states this caller may fail (a reaper never fails
-- a pending row the platform's processor is about to take, nor a row it has taken meanwhile):
-- a processing row only in the run :dagster_run_id and, given :started_at, claimed at that moment
-- (a later claim is another attempt); a pending row, given :check_pending_run, only while it
-- still names :pending_run_id (the run key its caller judged). A failed pending row records
-- the run that did not take it, so setting it back to pending gives it a new run key. A failed
-- row names no file (one set back to pending after it completed had its old one).
-- :outside — failed from outside the run (the reaper, the run-failure sensor): the row then names
-- 'reaped:<run id>' (fits VARCHAR(64)), so no retry or re-execution of that run takes it over
-- (claim_report) and sends the report after the owners' failure notice; a re-pend of it gets a
-- run key of its own. Only the op's own failure (:outside false) leaves the run id for its retry.
-- parameters as bounded text: never parsed by the driver (lib/requests/parameters.py).
UPDATE generated_report
SET report_status = 'failed', processing_error = :error, processing_completed_at = now(),
    processing_time_ms = CASE WHEN report_status = 'processing'
        THEN CAST(EXTRACT(EPOCH FROM (now() - processing_started_at)) * 1000 AS INTEGER) END,
    dagster_run_id = CASE
        WHEN CAST(:outside AS boolean)
            THEN 'reaped:' || COALESCE(CAST(:dagster_run_id AS text), dagster_run_id, 'none')
        WHEN report_status = 'pending' THEN COALESCE(CAST(:dagster_run_id AS text), dagster_run_id)
        ELSE dagster_run_id END,
    file_path = NULL, file_size_bytes = NULL, file_hash = NULL
WHERE id = :id
  AND ((report_status = 'pending' AND CAST(:pending AS boolean)
        AND (NOT CAST(:check_pending_run AS boolean)
             OR dagster_run_id IS NOT DISTINCT FROM CAST(:pending_run_id AS text)))
       OR (report_status = 'processing' AND CAST(:processing AS boolean)
           AND dagster_run_id IS NOT DISTINCT FROM CAST(:dagster_run_id AS text)
           AND (CAST(:started_at AS timestamptz) IS NULL
                OR processing_started_at = CAST(:started_at AS timestamptz))))
RETURNING CASE WHEN octet_length(parameters::text) <= :max_bytes THEN parameters::text END AS parameters,
          record_count

-- name: audit
INSERT INTO audit_event (organization_id, event_type, entity_type, entity_id, actor, details, occurred_at)
VALUES (:organization_id, :event_type, 'REPORT', :entity_id, :actor, CAST(:details AS jsonb), now())

-- name: latest_files
-- The newest file per organization, report type and format of one month (for the demo's listing).
SELECT g.organization_id, o.name AS organization_name, g.report_type::text AS report_type,
       g.file_format::text AS file_format, g.report_status::text AS report_status, g.file_path,
       g.file_size_bytes
FROM generated_report g
JOIN organization o ON o.id = g.organization_id
JOIN billing_period b ON b.id = g.billing_period_id
WHERE b.start_date = :start_date
  AND g.id IN (SELECT max(id) FROM generated_report
               GROUP BY organization_id, report_type, billing_period_id, file_format)
ORDER BY g.organization_id, g.report_type, g.file_format

-- name: claim_report
-- Take a pending row, or a processing or failed one this run or the run it retries
-- (:parent_run_id) holds ('reaped:<run id>', failed from outside the run, is never taken over).
-- One conditional UPDATE: a concurrent claim by the platform's processor is ordered by the row
-- lock, and the later one re-reads the row and takes nothing. A claim from pending starts an
-- attempt: processing_started_at = now(), the attempt's identity in its store key (run.py
-- _store_key); a takeover by the same run family keeps it, so a retry finds its own object.
-- A row set back to pending after it completed no longer names its old file.
UPDATE generated_report
SET report_status = 'processing',
    processing_started_at = CASE WHEN report_status = 'pending' OR processing_started_at IS NULL
        THEN now() ELSE processing_started_at END,
    processing_completed_at = NULL,
    processing_error = NULL, processing_time_ms = NULL, dagster_run_id = :dagster_run_id,
    file_path = NULL, file_size_bytes = NULL, file_hash = NULL
WHERE id = :id
  AND (report_status = 'pending'
       OR (report_status IN ('processing', 'failed') AND dagster_run_id IN (:dagster_run_id, :parent_run_id)))
RETURNING processing_started_at

-- name: reject_request
-- A request whose own values are invalid: failed by the statement that would have claimed it
-- (the same condition as claim_report), so its run never holds it in processing.
UPDATE generated_report
SET report_status = 'failed', processing_error = :error, processing_started_at = now(),
    processing_completed_at = now(), processing_time_ms = 0, dagster_run_id = :dagster_run_id,
    file_path = NULL, file_size_bytes = NULL, file_hash = NULL
WHERE id = :id
  AND (report_status = 'pending'
       OR (report_status IN ('processing', 'failed') AND dagster_run_id IN (:dagster_run_id, :parent_run_id)))
RETURNING CASE WHEN octet_length(parameters::text) <= :max_bytes THEN parameters::text END AS parameters,
          record_count

-- name: claim_completed
-- A completed row of ours whose stored object is gone or changed, for this run to make again:
-- only while it still names the object the caller found missing (a second run checking at the
-- same time finds it processing and leaves it).
UPDATE generated_report
SET report_status = 'processing', processing_started_at = now(), processing_completed_at = NULL,
    processing_error = NULL, processing_time_ms = NULL, dagster_run_id = :dagster_run_id,
    file_path = NULL, file_size_bytes = NULL, file_hash = NULL
WHERE id = :id AND report_status = 'completed' AND dagster_run_id IS NOT NULL
  AND file_path IS NOT DISTINCT FROM CAST(:file_path AS text)
  AND file_hash IS NOT DISTINCT FROM CAST(:file_hash AS text)
RETURNING processing_started_at

-- name: completed_attempts
SELECT count(*) FROM audit_event
WHERE entity_type = 'REPORT' AND entity_id = :id AND event_type = 'REPORT_EXPORTED'

-- name: report_status
SELECT report_status::text AS report_status, dagster_run_id FROM generated_report WHERE id = :id

-- name: created_at
SELECT created_at FROM generated_report WHERE id = :id

-- name: completed_pack_files
-- The pack's files of one report type and month already completed by this run or the run it
-- re-executes (parent, root): a re-executed step keeps them and redoes only what failed.
SELECT organization_id, file_format::text AS file_format, id, file_path, file_size_bytes, file_hash
FROM generated_report
WHERE report_type = CAST(:report_type AS report_type) AND billing_period_id = :billing_period_id
  AND report_status = 'completed' AND dagster_run_id IN :run_ids
ORDER BY id
