-- Run worker heartbeats (lib/operations/heartbeat.py). Times are the database's clock, so hosts
-- with skewed clocks agree on who is alive.

-- name: beat
INSERT INTO reporting_run_heartbeat (run_id, hostname, pid)
VALUES (:run_id, :hostname, :pid)
ON CONFLICT (run_id, hostname, pid) DO UPDATE SET beat_at = now(), ended_at = NULL

-- name: end
UPDATE reporting_run_heartbeat SET beat_at = now(), ended_at = now()
WHERE run_id = :run_id AND hostname = :hostname AND pid = :pid AND ended_at IS NULL

-- name: liveness
-- Per run: whether any of its processes beat within :dead_after seconds and has not ended, when
-- it was last heard of, and whether every process said it stopped (none was killed). Runs without a row are absent (no heartbeat known: decide otherwise).
SELECT run_id,
       bool_or(ended_at IS NULL AND beat_at > now() - make_interval(secs => CAST(:dead_after AS double precision))) AS alive,
       max(beat_at) AS last_beat_at,
       bool_and(ended_at IS NOT NULL) AS ended
FROM reporting_run_heartbeat
WHERE run_id IN :run_ids
GROUP BY run_id

-- name: prune
DELETE FROM reporting_run_heartbeat WHERE beat_at < now() - make_interval(days => CAST(:days AS integer))
