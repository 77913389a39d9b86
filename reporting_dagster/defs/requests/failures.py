"""Reports whose run failed or vanished: their rows end `failed`, never stuck in `processing`."""

import datetime as dt

import dagster as dg

from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.resources import PlatformDatabase, ReportMailer
from reporting_dagster.lib import delivery, records, request_queue

STUCK_AFTER = dt.timedelta(minutes=10)  # a report row older than this in processing is looked at
NEVER_STARTED_AFTER = dt.timedelta(hours=2)  # a pending row this old whose runs all ended is failed
_FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dg.run_failure_sensor(monitored_jobs=[generate_report], default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Mark a generate_report run's report failed when the run dies outside the op.")
def report_run_failure_sensor(context: dg.RunFailureSensorContext, platform_db: PlatformDatabase,
                              report_mailer: ReportMailer) -> None:
    tags = context.dagster_run.tags
    tag = tags.get("generated_report_id")
    if not tag or tags.get("dagster/will_retry") == "true":
        return  # not a request, or a retry of the run will take the row over
    error = (context.failure_event.message or "the run failed") if context.failure_event else "the run failed"
    _fail_if_unfinished(platform_db, report_mailer, int(tag), context.dagster_run.run_id, f"run failed: {error}",
                        context.log)


@dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Fail report rows left in processing by a run that has finished or is gone.")
def stuck_report_reaper(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase,
                        report_mailer: ReportMailer) -> dg.SkipReason:
    now = dt.datetime.now(dt.timezone.utc)
    reaped = 0
    for row in request_queue.stuck_reports(platform_db.engine, started_before=now - STUCK_AFTER):
        run_id = row["dagster_run_id"]
        run = context.instance.get_run_by_id(run_id) if run_id else None
        if run is not None and run.status not in _FINISHED:
            continue
        why = "its run no longer exists" if run is None else f"its run ended {run.status.value} without finishing it"
        if _fail_if_unfinished(platform_db, report_mailer, int(row["id"]), run_id, f"stuck in processing: {why}",
                               context.log):
            reaped += 1
    for row in request_queue.pending_since(platform_db.engine, created_before=now - NEVER_STARTED_AFTER):
        runs = context.instance.get_runs(filters=dg.RunsFilter(tags={"generated_report_id": str(row["id"])}))
        if any(r.status not in _FINISHED for r in runs):
            continue  # queued or running: it will claim the row
        why = ("its run was canceled or failed before starting" if runs
               else "no run was ever launched for it")
        if _fail_if_unfinished(platform_db, report_mailer, int(row["id"]), None,
                               f"never processed: {why}; set it back to pending to try again", context.log):
            reaped += 1
    return dg.SkipReason(f"{reaped} stuck reports marked failed")


def _fail_if_unfinished(platform_db: PlatformDatabase, report_mailer: ReportMailer, report_id: int,
                        run_id: str | None, message: str, log) -> bool:
    engine = platform_db.engine
    row = request_queue.report_for_failure(engine, report_id, run_id)
    if row is None or not records.fail_unfinished(  # completed, already failed, gone, or another run's
            engine, report_id, message, organization_id=row["organization_id"], report_type=row["report_type"],
            file_format=row["file_format"], dagster_run_id=run_id):
        return False
    if row["scheduled_report_id"] is not None:
        streak_starts = request_queue.record_schedule_outcome(
            engine, scheduled_report_id=row["scheduled_report_id"], generated_report_id=report_id, status="failed",
            error=records.short_error(message))
        if streak_starts:
            delivery.notify_failure(engine, report_mailer.mailer(), generated_report_id=report_id,
                                    sender=report_mailer.sender, reply_to=report_mailer.reply_to, run_id=run_id)
    log.warning(f"generated_report {report_id}: {message}")
    return True
