-- name: report_statistics
-- seed 000 get_report_statistics(org, days), for every organization at once (or one):
-- reports created in [since, now]; organizations without any are listed with zeros.
SELECT o.id AS organization_id,
       o.name AS organization_name,
       count(g.id) AS total_reports,
       count(g.id) FILTER (WHERE g.report_status = 'completed') AS completed_reports,
       count(g.id) FILTER (WHERE g.report_status = 'failed') AS failed_reports,
       count(g.id) FILTER (WHERE g.report_status IN ('pending', 'processing')) AS pending_reports,
       COALESCE(sum(g.record_count) FILTER (WHERE g.report_status = 'completed'), 0) AS total_records_exported,
       avg(g.processing_time_ms) FILTER (WHERE g.report_status = 'completed') AS avg_processing_time_ms
FROM organization o
LEFT JOIN generated_report g
       ON g.organization_id = o.id
      AND g.created_at >= :since
      AND g.created_at <= :now
WHERE CAST(:organization_id AS BIGINT) IS NULL OR o.id = CAST(:organization_id AS BIGINT)
GROUP BY o.id, o.name
ORDER BY o.id
