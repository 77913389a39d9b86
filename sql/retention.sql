-- name: expired_reports
-- Completed reports past expires_at whose file is still in reports/ (keyset page on id).
SELECT g.id, g.organization_id, g.file_path,
       COALESCE(b.start_date, CAST(g.created_at AT TIME ZONE 'UTC' AS date)) AS period_start
FROM generated_report g
LEFT JOIN billing_period b ON b.id = g.billing_period_id
WHERE g.expires_at <= :now
  AND g.archived_at IS NULL
  AND g.report_status = 'completed'
  AND g.file_path IS NOT NULL
  AND g.id > :after_id
ORDER BY g.id
LIMIT :batch

-- name: mark_archived
-- file_path is cleared: the platform's download hands out file_path, and the original is gone.
UPDATE generated_report
SET archived_at = :archived_at, archived_path = :archived_path, file_path = NULL
WHERE id = :id AND archived_at IS NULL

-- name: purgeable_archives
-- Archived objects past the retention cutoff (keyset page on id).
SELECT id, archived_path
FROM generated_report
WHERE archived_path IS NOT NULL
  AND archived_at <= :cutoff
  AND id > :after_id
ORDER BY id
LIMIT :batch

-- name: mark_purged
-- archived_at stays (when it was archived); archived_path NULL says the object no longer exists.
UPDATE generated_report
SET archived_path = NULL
WHERE id = :id AND archived_path = :archived_path

-- name: archive_path_referenced
SELECT EXISTS (SELECT 1 FROM generated_report WHERE archived_path = :archived_path)
