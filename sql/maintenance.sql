-- name: report_definition_versions
SELECT slug, version FROM report_definition

-- name: insert_report_definition
INSERT INTO report_definition (slug, name, description, category, parameter_schema, column_definitions,
                               is_system, sort_order, version)
VALUES (:slug, :name, :description, :category, CAST(:parameter_schema AS jsonb),
        CAST(:column_definitions AS jsonb), true, :sort_order, :version)
ON CONFLICT (slug) DO NOTHING

-- name: update_report_definition
-- Only a newer catalogue version replaces the row; the same or an older one changes nothing.
UPDATE report_definition
SET name = :name, description = :description, category = :category,
    parameter_schema = CAST(:parameter_schema AS jsonb), column_definitions = CAST(:column_definitions AS jsonb),
    sort_order = :sort_order, version = :version, updated_at = now()
WHERE slug = :slug AND version < :version

-- name: ensure_standard_template
-- One org-wide active template of this type for every organization that has none; templates that
-- exist (changed by users or not) are never touched. A name taken by an inactive template gets
-- the suffix " (standard)".
INSERT INTO report_template (organization_id, name, description, report_type, file_format, template_config,
                             include_charts, include_summary, include_line_items, is_active)
SELECT o.id,
       CASE WHEN EXISTS (SELECT 1 FROM report_template n
                         WHERE n.organization_id = o.id AND n.project_id IS NULL AND n.name = :name)
            THEN :name || ' (standard)' ELSE :name END,
       :description, CAST(:report_type AS report_type), 'pdf', CAST(:template_config AS jsonb),
       true, true, true, true
FROM organization o
WHERE NOT EXISTS (
    SELECT 1 FROM report_template t
    WHERE t.organization_id = o.id AND t.report_type = CAST(:report_type AS report_type)
      AND t.project_id IS NULL AND t.is_active)
ORDER BY o.id
RETURNING organization_id
