"""Reports whose run failed or vanished: their rows end `failed`, never stuck in `processing`.

- `stuck_report_reaper` (every REAPER_INTERVAL): a row `processing` for more than STUCK_AFTER
  is failed when its run is dead. Dead is what the heartbeats say
  (lib/operations/heartbeat.py: no process of the run beat within DEAD_AFTER, or all of
  them said they stopped), whichever process or Dagster instance ran it — a CLI run, a pack
  step, another instance. A run that never beat (older versions) is judged by this Dagster
  instance instead: ended, or (requests processed here) gone. A killed worker's row is
  failed within DEAD_AFTER + REAPER_INTERVAL + the daemon's tick latency (about 4 minutes
  with the defaults), never while any process of its run beats.
- A pending row is failed only when the run of its current run key exists here and finished
  without taking it (canceled while queued, or failed before its claim) — never because it
  is old: a user's retry of an old row waits for its run.
- `report_run_failure_sensor`: a failed generate_report run's rows (one, or a batch's: each
  judged on its own), each when the run holds it, or when it is still pending under that
  run's key for it.
- A batch run's (more than one row) pending rows it never claimed are not failed with it: they
  are released (`_release`: a new run key, so the request sensor offers each again in a run
  of its own); a row released RELEASE_LIMIT times in a row is failed. A run of one's
  never-taken row is failed as above, so a row that kills its own run cannot loop.

Every failure is conditional on what was judged: the row's status, the run it names and (for
processing rows) when it was claimed; a row that moved on meanwhile is left alone. Only rows
a Dagster run of this project holds are failed: a row in processing without a dagster_run_id,
or claimed again after our run stopped, is another processor's (the platform's own), and
pending rows are failed only while this project processes the requests
(`REPORTS_PROCESS_REQUESTS` on). A row these handlers cannot judge is logged and passed over;
none of them ever raises out of a tick, so one row never stops the others.
"""

import datetime as dt
import json

import dagster as dg

from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.requests.runs import FINISHED, runs_by_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportMailer, RequestProcessing
from reporting_dagster.lib.delivery import deliver as delivery
from reporting_dagster.lib.operations import heartbeat, records
from reporting_dagster.lib.requests import batch
from reporting_dagster.lib.requests import queue as request_queue

DEAD_AFTER = heartbeat.DEAD_AFTER_SECONDS  # a run none of whose processes beat for this long is dead
STUCK_AFTER = dt.timedelta(seconds=heartbeat.DEAD_AFTER_SECONDS)  # processing rows younger are not looked at
REAPER_INTERVAL = 120  # seconds between reaper ticks
PENDING_LIMIT = 500  # pending rows looked at per tick (the cursor moves on through the rest)
STUCK_LIMIT = request_queue.STUCK_LIMIT  # processing rows looked at per tick (likewise)


@dg.run_failure_sensor(monitored_jobs=[generate_report], default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Mark a generate_report run's report failed when the run dies outside the op.")
def report_run_failure_sensor(context: dg.RunFailureSensorContext, platform_db: PlatformDatabase,
                              report_mailer: ReportMailer, request_processing: RequestProcessing) -> None:
    tags = context.dagster_run.tags
    report_ids = batch.report_ids_of(tags)
    if not report_ids:
        return  # not a request run
    if tags.get("dagster/will_retry") == "true":
        return  # a retry of the run will take the rows over
    run_id = context.dagster_run.run_id
    error = (context.failure_event.message or "the run failed") if context.failure_event else "the run failed"
    keys = set(batch.keys_of(tags))
    for report_id in report_ids:  # a batch run's rows each on their own: one row never stops the others
        try:
            _fail_for_run(platform_db, report_mailer, request_processing, report_id, run_id, keys, error,
                          context.log)
        except Exception as exc:  # noqa: BLE001 - the reaper looks at the row again
            context.log.error(f"generated_report {report_id}: run failure not recorded ({records.short_error(exc)}); "
                              "the reaper will look at the row")


def _fail_for_run(platform_db: PlatformDatabase, report_mailer: ReportMailer, request_processing: RequestProcessing,
                  report_id: int, run_id: str, keys: set[str], error: str, log) -> None:
    """The row, when the failed run holds it, or when it is still pending under one of that run's keys."""
    row = request_queue.report_for_failure(platform_db.engine, report_id)
    if row is None:
        return
    if row["report_status"] == "processing" and row["dagster_run_id"] == run_id:
        _fail(platform_db, report_mailer, row, run_id, f"run failed: {error}", log,
              processing=True, started_at=row["processing_started_at"])
    elif (row["report_status"] == "pending" and request_processing.enabled
          and request_queue.run_key(report_id, row["dagster_run_id"], started_at=row["processing_started_at"],
                                    completed_at=row["processing_completed_at"]) in keys):
        # never claimed, and still waiting under this run's key (not a user's later retry);
        # ours to fail (a run of one) or release (a batch's) only while we process requests
        if len(keys) > 1:
            _release(platform_db, report_mailer, row, run_id, f"its batch run {run_id} failed before taking it",
                     log)
        else:
            _fail(platform_db, report_mailer, row, run_id, f"run failed before taking it: {error}", log,
                  pending=True, pending_run_id=row["dagster_run_id"])


@dg.sensor(minimum_interval_seconds=REAPER_INTERVAL, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Fail report rows whose run is dead (heartbeats, any process or instance) and "
                       "(when requests are processed here) pending rows whose run ended without taking them.")
def stuck_report_reaper(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase,
                        report_mailer: ReportMailer, request_processing: RequestProcessing) -> dg.SkipReason:
    engine = platform_db.engine
    now = dt.datetime.now(dt.timezone.utc)
    cursor = _Cursor.parse(context.cursor)
    reaped, cursor.processing = _reap_processing(context, platform_db, report_mailer, request_processing, now,
                                                 cursor.processing)
    try:  # whether or not requests are processed here: our runs beat either way
        heartbeat.prune(engine)
    except Exception as exc:  # noqa: BLE001 - old heartbeats only take room
        context.log.warning(f"old heartbeats not pruned: {records.short_error(exc)}")
    if not request_processing.enabled:
        context.update_cursor(cursor.dump())
        return dg.SkipReason(f"{reaped} stuck reports of our runs marked failed; pending rows left alone "
                             f"({request_processing.off_reason})")
    more, cursor.pending = _reap_pending(context, platform_db, report_mailer, cursor.pending)
    context.update_cursor(cursor.dump())
    return dg.SkipReason(f"{reaped + more} stuck reports marked failed")


class _Cursor:
    """Where the reaper's id windows start next tick: each window continues after the last id it
    judged and starts over from 0 once a window comes back short, so rows past one window (or
    behind rows judged not ours on every tick) are judged in turn."""

    def __init__(self, processing: int = 0, pending: int = 0) -> None:
        self.processing, self.pending = processing, pending

    @classmethod
    def parse(cls, text: str | None) -> "_Cursor":
        try:
            values = json.loads(text or "{}")
            return cls(int(values.get("processing", 0)), int(values.get("pending", 0)))
        except (ValueError, TypeError, AttributeError):
            return cls()  # an old or foreign cursor: start over

    def dump(self) -> str:
        return json.dumps({"processing": self.processing, "pending": self.pending})


def _next_start(ids: list[int], limit: int) -> int:
    return ids[-1] if len(ids) >= limit else 0


def _reap_processing(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase, report_mailer: ReportMailer,
                     request_processing: RequestProcessing, now: dt.datetime, after_id: int) -> tuple[int, int]:
    """(rows failed, where the next window starts)."""
    try:
        rows = request_queue.stuck_reports(platform_db.engine, started_before=now - STUCK_AFTER, after_id=after_id,
                                           limit=STUCK_LIMIT)
        beats = heartbeat.liveness(platform_db.engine, [r["dagster_run_id"] for r in rows], dead_after=DEAD_AFTER)
    except Exception as exc:  # noqa: BLE001 - without the heartbeats a live run cannot be told from a dead one
        context.log.error(f"processing rows not looked at this tick: {records.short_error(exc)}")
        return 0, after_id
    reaped = 0
    for row in rows:
        try:
            why = _why_stuck(context.instance, row, beats.get(row["dagster_run_id"]), request_processing.enabled)
            if why is not None and _fail(
                    platform_db, report_mailer, row, row["dagster_run_id"],
                    f"stuck in processing: {why}; set it back to pending to try again", context.log,
                    processing=True, started_at=row["processing_started_at"]):
                reaped += 1
        except Exception as exc:  # noqa: BLE001 - one row must not stop the others
            context.log.error(f"generated_report {row['id']}: not judged ({records.short_error(exc)})")
    return reaped, _next_start([int(r["id"]) for r in rows], STUCK_LIMIT)


def _reap_pending(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase, report_mailer: ReportMailer,
                  after_id: int) -> tuple[int, int]:
    """(rows failed, where the next window starts)."""
    try:
        pending = request_queue.pending_requests(platform_db.engine, after_id=after_id, limit=PENDING_LIMIT)
        runs = runs_by_key(context.instance, [p.run_key for p in pending])
    except Exception as exc:  # noqa: BLE001
        context.log.error(f"pending rows not looked at this tick: {records.short_error(exc)}")
        return 0, after_id
    reaped = 0
    for p in pending:
        held = runs.get(p.run_key)
        if not held or any(r.status not in FINISHED for r in held):
            continue  # not launched yet (the sensor will), or its run is queued or running: it will claim the row
        last = held[0]  # newest first
        row = {"id": p.generated_report_id, "organization_id": p.organization_id, "report_type": p.report_type,
               "file_format": p.file_format, "scheduled_report_id": p.scheduled_report_id}
        try:
            if len(batch.keys_of(last.tags)) > 1:  # a batch's row: offered again, not failed for the batch
                if _release(platform_db, report_mailer, {**row, "dagster_run_id": p.last_run_id}, last.run_id,
                            f"its batch run {last.run_id} ended {last.status.value} before taking it", context.log):
                    reaped += 1
            elif _fail(platform_db, report_mailer, row, last.run_id,
                     f"never processed: its run {last.run_id} ended {last.status.value} before taking it; "
                     "set it back to pending to try again", context.log, pending=True, pending_run_id=p.last_run_id):
                reaped += 1
        except Exception as exc:  # noqa: BLE001 - one row must not stop the others
            context.log.error(f"generated_report {p.generated_report_id}: not failed ({records.short_error(exc)})")
    return reaped, _next_start([p.generated_report_id for p in pending], PENDING_LIMIT)


def _why_stuck(instance: dg.DagsterInstance, row: dict, beat: heartbeat.RunLiveness | None,
               processing_requests: bool) -> str | None:
    """Why a processing row whose dagster_run_id names one of our runs is stuck; None when that run
    is still going or the row is no longer that run's."""
    if beat is not None:  # the run beat: its heartbeats decide, whichever instance ran it
        return heartbeat.stopped_reason(beat, row["processing_started_at"], dead_after=DEAD_AFTER)
    record = instance.get_run_record_by_id(row["dagster_run_id"])
    if record is None:
        # run retention or a new instance removed it. With the switch off the platform may have
        # taken the row again since (it keeps our stale run id): we cannot tell, so it is left alone.
        return "its run no longer exists" if processing_requests else None
    run = record.dagster_run
    if run.status not in FINISHED:
        return None
    started = row["processing_started_at"]
    if record.end_time is not None and started is not None and started.timestamp() > record.end_time:
        return None  # claimed again after that run ended: by another processor, which keeps our run id
    return f"its run ended {run.status.value} without finishing it"


def _release(platform_db: PlatformDatabase, report_mailer: ReportMailer, row: dict, run_id: str, why: str,
             log) -> bool:
    """A pending row a dead batch run never claimed: offered again under a new run key (the
    request sensor gives it a run of its own), so one dying batch never fails the other rows
    with it. A row already released RELEASE_LIMIT times in a row is failed instead: a row that
    kills every run it is in must not go round for ever (in a run of its own it fails anyway).
    True when this call failed the row."""
    seen = row["dagster_run_id"]
    count = request_queue.releases(seen)
    if count >= request_queue.RELEASE_LIMIT:
        return _fail(platform_db, report_mailer, row, run_id,
                     f"never processed: {why}, after {count} earlier batch runs ended the same way; "
                     "set it back to pending to try again", log, pending=True, pending_run_id=seen)
    if request_queue.release_request(platform_db.engine, int(row["id"]), seen_run_id=seen, run_id=run_id):
        log.warning(f"generated_report {row['id']}: {why}; offered again in a run of its own")
    return False


def _fail(platform_db: PlatformDatabase, report_mailer: ReportMailer, row: dict, run_id: str | None, message: str,
          log, *, pending: bool = False, processing: bool = False, started_at=None,
          pending_run_id=records.ANY_RUN) -> bool:
    """Fail the row if it is still as judged; then the schedule's outcome and (once per failure
    streak) the owners' notice. True when this call failed it."""
    engine = platform_db.engine
    report_id = int(row["id"])
    if not records.fail_unfinished(
            engine, report_id, message, organization_id=row["organization_id"], report_type=row["report_type"],
            file_format=row["file_format"], dagster_run_id=run_id, pending=pending, processing=processing,
            started_at=started_at, pending_run_id=pending_run_id):
        return False  # completed, already failed, gone, taken again, or another processor's
    log.warning(f"generated_report {report_id}: {message}")
    if row["scheduled_report_id"] is not None:
        try:
            streak_starts = request_queue.record_schedule_outcome(
                engine, scheduled_report_id=row["scheduled_report_id"], generated_report_id=report_id,
                status="failed", error=records.short_error(message))
            if streak_starts:
                delivery.notify_failure(engine, report_mailer.mailer(), generated_report_id=report_id,
                                        sender=report_mailer.sender, reply_to=report_mailer.reply_to, run_id=run_id)
        except Exception as exc:  # noqa: BLE001 - the row is failed; the notice is the schedule's bonus
            log.error(f"generated_report {report_id}: failed, but its schedule not told ({records.short_error(exc)})")
    return True
