-- name: read_token
SELECT token FROM reporting_installation WHERE id

-- name: new_token
-- A fresh random token (gen_random_uuid is core since PostgreSQL 13); the row is created when absent.
INSERT INTO reporting_installation (id, token, created_at)
VALUES (true, replace(CAST(gen_random_uuid() AS text), '-', ''), now())
ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, created_at = EXCLUDED.created_at
RETURNING token
