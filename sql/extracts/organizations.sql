SELECT id AS organization_id, name AS organization_name FROM organization ORDER BY id
