"""Reports whose run failed or vanished: their rows end `failed`, never stuck in `processing`.

Only rows a Dagster run of this project holds (`dagster_run_id` set by its claim) are ever
failed for being stuck: a row in processing without one, or claimed again after our run ended,
is held by another processor (the platform's own) and is left alone. Pending rows are failed
(never started, or their run died before claiming them) only while this project processes the
requests (`REPORTS_PROCESS_REQUESTS` on); off, they belong to the platform's processor.
"""

import datetime as dt

import dagster as dg

from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.resources import PlatformDatabase, ReportMailer, RequestProcessing
from reporting_dagster.lib.delivery import deliver as delivery
from reporting_dagster.lib.operations import records
from reporting_dagster.lib.requests import queue as request_queue

STUCK_AFTER = dt.timedelta(minutes=10)  # a report row older than this in processing is looked at
NEVER_STARTED_AFTER = dt.timedelta(hours=2)  # a pending row this old whose runs all ended is failed
_FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dg.run_failure_sensor(monitored_jobs=[generate_report], default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Mark a generate_report run's report failed when the run dies outside the op.")
def report_run_failure_sensor(context: dg.RunFailureSensorContext, platform_db: PlatformDatabase,
                              report_mailer: ReportMailer, request_processing: RequestProcessing) -> None:
    tags = context.dagster_run.tags
    tag = tags.get("generated_report_id")
    if not tag or tags.get("dagster/will_retry") == "true":
        return  # not a request, or a retry of the run will take the row over
    error = (context.failure_event.message or "the run failed") if context.failure_event else "the run failed"
    # a row the run never claimed is still pending: ours to fail only while we process requests
    _fail_if_unfinished(platform_db, report_mailer, int(tag), context.dagster_run.run_id, f"run failed: {error}",
                        context.log, pending=request_processing.enabled, processing=True)


@dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Fail report rows left in processing by a run of ours that has finished or is gone, "
                       "and (when requests are processed here) pending rows no run ever took.")
def stuck_report_reaper(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase,
                        report_mailer: ReportMailer, request_processing: RequestProcessing) -> dg.SkipReason:
    now = dt.datetime.now(dt.timezone.utc)
    reaped = 0
    for row in request_queue.stuck_reports(platform_db.engine, started_before=now - STUCK_AFTER):
        why = _why_stuck(context.instance, row, request_processing.enabled)
        if why is not None and _fail_if_unfinished(
                platform_db, report_mailer, int(row["id"]), row["dagster_run_id"], f"stuck in processing: {why}",
                context.log, pending=False, processing=True):
            reaped += 1
    if not request_processing.enabled:
        return dg.SkipReason(f"{reaped} stuck reports of our runs marked failed; pending rows left alone "
                             f"({request_processing.off_reason})")
    for row in request_queue.pending_since(platform_db.engine, created_before=now - NEVER_STARTED_AFTER):
        runs = context.instance.get_runs(filters=dg.RunsFilter(tags={"generated_report_id": str(row["id"])}))
        if any(r.status not in _FINISHED for r in runs):
            continue  # queued or running: it will claim the row
        why = ("its run was canceled or failed before starting" if runs
               else "no run was ever launched for it")
        if _fail_if_unfinished(platform_db, report_mailer, int(row["id"]), None,
                               f"never processed: {why}; set it back to pending to try again", context.log,
                               pending=True, processing=False):
            reaped += 1
    return dg.SkipReason(f"{reaped} stuck reports marked failed")


def _why_stuck(instance: dg.DagsterInstance, row: dict, processing_requests: bool) -> str | None:
    """Why a processing row whose dagster_run_id names one of our runs is stuck; None when that run
    is still going or the row is no longer that run's."""
    record = instance.get_run_record_by_id(row["dagster_run_id"])
    if record is None:
        # run retention or a new instance removed it. With the switch off the platform may have
        # taken the row again since (it keeps our stale run id): we cannot tell, so it is left alone.
        return "its run no longer exists" if processing_requests else None
    run = record.dagster_run
    if run.status not in _FINISHED:
        return None
    started = row["processing_started_at"]
    if record.end_time is not None and started is not None and started.timestamp() > record.end_time:
        return None  # claimed again after that run ended: by another processor, which keeps our run id
    return f"its run ended {run.status.value} without finishing it"


def _fail_if_unfinished(platform_db: PlatformDatabase, report_mailer: ReportMailer, report_id: int,
                        run_id: str | None, message: str, log, *, pending: bool, processing: bool) -> bool:
    """Fail the row if it is still pending (`pending`) or processing in `run_id` (`processing`)."""
    engine = platform_db.engine
    row = request_queue.report_for_failure(engine, report_id, run_id, pending=pending, processing=processing)
    if row is None or not records.fail_unfinished(  # completed, already failed, gone, or another processor's
            engine, report_id, message, organization_id=row["organization_id"], report_type=row["report_type"],
            file_format=row["file_format"], dagster_run_id=run_id, pending=pending, processing=processing):
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
