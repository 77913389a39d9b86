-- Liveness of the processes that hold report rows (DESIGN.md "Stuck reports"; issue 10).
-- Every run worker that opens the platform database beats here every few seconds while it runs
-- and says when it stops, so the reaper tells a killed worker (a CLI run, a pack step, a run of
-- another Dagster instance) from a live one within minutes, from the database alone: the Dagster
-- instance that launched the run need not be the one that looks.
-- One row per (run, host, process): the steps of a multi-process run beat separately.
CREATE TABLE IF NOT EXISTS reporting_run_heartbeat (
    run_id      VARCHAR(64) NOT NULL,
    hostname    VARCHAR(255) NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    beat_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    ended_at    TIMESTAMPTZ,
    PRIMARY KEY (run_id, hostname, pid)
);
CREATE INDEX IF NOT EXISTS reporting_run_heartbeat_beat_at ON reporting_run_heartbeat (beat_at);

-- The one liveness rule every statement judging a claim uses (sql/delivery.sql, the reaper): some
-- process of the run beat within p_dead_after seconds and has not said it ended.
CREATE OR REPLACE FUNCTION reporting_run_alive(p_run_id text, p_dead_after double precision)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM reporting_run_heartbeat h
                   WHERE h.run_id = p_run_id AND h.ended_at IS NULL
                     AND h.beat_at > now() - make_interval(secs => p_dead_after))
$$;

INSERT INTO reporting_owned_table (table_name) VALUES ('reporting_run_heartbeat') ON CONFLICT DO NOTHING;
