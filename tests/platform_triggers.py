"""The platform's own triggers on its report tables (SOURCE_SCHEMA.md Part A+ "Triggers"), as
test fixtures: written from that description, not copied from the platform.

- `install_scheduled_report_trigger(engine)`: BEFORE INSERT OR UPDATE on scheduled_report, every
  time, sets next_run_at to the first slot strictly after COALESCE(last_run_at, now()):
  `day_of_month` at `time_of_day` wall-clock time in the row's `timezone`, every month
  (monthly), in January/April/July/October (quarterly), in January (annual); NULL for on_demand
  or without a day. Whatever an UPDATE writes into next_run_at is overwritten.
- `install_generated_report_trigger(engine)`: BEFORE UPDATE on generated_report, on a status
  change: pending → processing sets processing_started_at = now(); pending or processing →
  completed or failed sets processing_completed_at = now().

Both are idempotent (CREATE OR REPLACE, DROP TRIGGER IF EXISTS) and compare enum columns as
text, so they install on this project's schema as on the platform's own tables. Local times a
DST change skips or repeats are read the way PostgreSQL's `AT TIME ZONE` reads them.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

_NEXT_RUN_FUNCTION = """
CREATE OR REPLACE FUNCTION platform_next_run_time(
    p_frequency text, p_day_of_month integer, p_time_of_day time, p_timezone text, p_after timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    step integer := CASE p_frequency WHEN 'monthly' THEN 1 WHEN 'quarterly' THEN 3 WHEN 'annual' THEN 12 END;
    -- start one month before p_after's local month and walk forward
    first_of_month date := (date_trunc('month', p_after AT TIME ZONE p_timezone) - interval '1 month')::date;
    slot timestamptz;
BEGIN
    IF step IS NULL OR p_day_of_month IS NULL OR p_time_of_day IS NULL THEN
        RETURN NULL;
    END IF;
    FOR i IN 1..15 LOOP
        IF mod(extract(month FROM first_of_month)::integer - 1, step) = 0 THEN
            slot := ((first_of_month + (p_day_of_month - 1)) + p_time_of_day) AT TIME ZONE p_timezone;
            IF slot > p_after THEN
                RETURN slot;
            END IF;
        END IF;
        first_of_month := (first_of_month + interval '1 month')::date;
    END LOOP;
    RETURN NULL;
END
$$
"""

_SCHEDULED_REPORT_TRIGGER = (
    _NEXT_RUN_FUNCTION,
    """
    CREATE OR REPLACE FUNCTION platform_scheduled_report_next_run() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.next_run_at := platform_next_run_time(NEW.report_frequency::text, NEW.day_of_month, NEW.time_of_day,
                                                  NEW.timezone, COALESCE(NEW.last_run_at, now()));
        RETURN NEW;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS trg_scheduled_report_next_run ON scheduled_report",
    """
    CREATE TRIGGER trg_scheduled_report_next_run BEFORE INSERT OR UPDATE ON scheduled_report
    FOR EACH ROW EXECUTE FUNCTION platform_scheduled_report_next_run()
    """,
)

_GENERATED_REPORT_TRIGGER = (
    """
    CREATE OR REPLACE FUNCTION platform_generated_report_timestamps() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.report_status::text = 'pending' AND NEW.report_status::text = 'processing' THEN
            NEW.processing_started_at := now();
        ELSIF OLD.report_status::text IN ('pending', 'processing')
              AND NEW.report_status::text IN ('completed', 'failed') THEN
            NEW.processing_completed_at := now();
        END IF;
        RETURN NEW;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS trg_generated_report_timestamps ON generated_report",
    """
    CREATE TRIGGER trg_generated_report_timestamps BEFORE UPDATE ON generated_report
    FOR EACH ROW WHEN (OLD.report_status IS DISTINCT FROM NEW.report_status)
    EXECUTE FUNCTION platform_generated_report_timestamps()
    """,
)


def install_scheduled_report_trigger(engine: Engine) -> None:
    """The platform's next_run_at trigger on scheduled_report (see the module docstring)."""
    _run(engine, _SCHEDULED_REPORT_TRIGGER)


def install_generated_report_trigger(engine: Engine) -> None:
    """The platform's processing-timestamps trigger on generated_report (see the module docstring)."""
    _run(engine, _GENERATED_REPORT_TRIGGER)


def _run(engine: Engine, statements: tuple[str, ...]) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
