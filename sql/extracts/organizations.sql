-- Every organization with its name, and whether it existed in the billing period ending on
-- :period_end (inclusive): created on or before that day (UTC), or with no created_at at all.
-- The monthly pack writes "no data" files for organizations that existed but have no rows; one
-- created after the month did not exist then and gets none. All rows are returned (names are
-- also needed for organizations whose rows predate their created_at).
SELECT id AS organization_id,
       name AS organization_name,
       (created_at IS NULL
        OR created_at < CAST(CAST(:period_end AS date) + 1 AS timestamp) AT TIME ZONE 'UTC') AS existed_in_period
FROM organization
ORDER BY id
