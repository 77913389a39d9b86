-- Delivery leases, retries and a record of every attempt (issue 10 items 2 and 5; README "Delivery").
-- report_delivery is this project's own table (0003; listed in reporting_owned_table by 0004), so
-- its columns are added here directly, each only when absent.
--
-- claimed_by_run   the Dagster run holding the claim: a claim older than its lease whose run no
--                  longer beats (reporting_run_heartbeat) is taken over and the message re-sent;
-- handed_over_at   set just before the message's last byte leaves (the SMTP DATA terminator, the
--                  SES call): a claim abandoned after this point is never re-sent (at most once);
-- detail           what a sent row wants known ("accepted, reply timed out ...");
-- next_attempt_at  when delivery_retry_sensor tries a failed row again (NULL: not retried);
-- history          one object per finished attempt: attempt, run_id, claimed_at, ended_at,
--                  outcome (sent | failed | abandoned | handed over), detail.
ALTER TABLE report_delivery
    ADD COLUMN IF NOT EXISTS claimed_by_run VARCHAR(64),
    ADD COLUMN IF NOT EXISTS handed_over_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS detail TEXT,
    ADD COLUMN IF NOT EXISTS next_attempt_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS history JSONB NOT NULL DEFAULT '[]'::jsonb;

CREATE INDEX IF NOT EXISTS report_delivery_retry_due ON report_delivery (next_attempt_at)
    WHERE status = 'failed' AND next_attempt_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS report_delivery_claimed_at ON report_delivery (claimed_at)
    WHERE status = 'claimed';
