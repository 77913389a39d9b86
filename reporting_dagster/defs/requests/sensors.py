"""Sensors that turn the platform's report tables into runs.

- `scheduled_report_sensor`: due scheduled_report rows get their pending generated_report row
  (the slot is claimed atomically; next_run_at moves past now, so no catch-up runs).
- `report_request_sensor`: pending generated_report rows (on demand, and the scheduled ones
  above) become `generate_report` runs, in bounded batches, one run key per row and wait
  (lib/requests/queue.run_key: it changes when the row is set back to pending).

Both skip, saying why, when `REPORTS_PROCESS_REQUESTS` is off (the `request_processing`
resource): the platform's own processor then owns those rows.
"""

import datetime as dt

import dagster as dg
from sqlalchemy.engine import Engine

from reporting_dagster.defs.requests.generate import REQUEST_TAG, generate_report
from reporting_dagster.defs.requests.runs import runs_by_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportMailer, RequestProcessing, delivery_policy_from_env
from reporting_dagster.lib.delivery import deliver as delivery
from reporting_dagster.lib.requests import queue as request_queue

BATCH = 25  # runs launched per tick at most; the run queue limits how many run at once
PAGE = 100  # pending rows read at a time
MAX_SCAN = 2000  # pending rows looked at per tick at most (rows whose key has a run are passed over)


@dg.sensor(job=generate_report, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Launch generate_report for pending generated_report rows (batches, cursor on id).")
def report_request_sensor(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase,
                          request_processing: RequestProcessing) -> dg.SensorResult | dg.SkipReason:
    if not request_processing.enabled:
        return dg.SkipReason(request_processing.off_reason)  # the cursor stays where it was
    platform_db.check_access()  # a role RLS blinds sees no pending row: fail the tick, saying why
    after_id = int(context.cursor or 0)
    pending, cursor, passed = launchable(context.instance, platform_db.engine, after_id)
    runs = [
        dg.RunRequest(
            run_key=p.run_key,
            run_config={"ops": {"render_report": {"config": {"generated_report_id": p.generated_report_id}}}},
            tags={REQUEST_TAG: "requests", "generated_report_id": str(p.generated_report_id),
                  "organization_id": str(p.organization_id), "report_type": p.report_type,
                  "generation_source": p.generation_source, request_queue.RUN_KEY_TAG: p.run_key},
        )
        for p in pending
    ]
    if not runs:
        return dg.SensorResult(skip_reason=f"no pending report without a run (cursor {after_id}; "
                                           f"{passed} pending rows whose run is launched already)",
                               cursor=str(cursor))
    return dg.SensorResult(run_requests=runs, cursor=str(cursor))


def launchable(instance: dg.DagsterInstance, engine: Engine,
               after_id: int) -> tuple[list[request_queue.PendingRequest], int, int]:
    """Up to BATCH pending rows whose run key has no run yet: new rows (above the cursor) first,
    then every pending row below it (set back to pending, or committed after a higher id).
    Rows whose key has a run (launched, queued, running, or finished without taking the row —
    the reaper's) are passed over, never a wall in front of the others. Returns the rows, the
    new cursor (the highest new id looked at) and how many rows were passed over."""
    chosen: list[request_queue.PendingRequest] = []
    cursor, scanned, passed = after_id, 0, 0
    for low, high in ((after_id, None), (0, after_id)):
        position = low
        while len(chosen) < BATCH and scanned < MAX_SCAN:
            page = request_queue.pending_requests(engine, after_id=position, up_to=high, limit=PAGE)
            launched = runs_by_key(instance, [p.run_key for p in page])
            for p in page:
                position, scanned = p.generated_report_id, scanned + 1
                if high is None:
                    cursor = max(cursor, p.generated_report_id)
                if p.run_key in launched:
                    passed += 1
                    continue
                chosen.append(p)
                if len(chosen) == BATCH:
                    break
            if len(page) < PAGE:
                break
    return chosen, cursor, passed


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Claim due scheduled_report slots and queue their reports as pending rows.")
def scheduled_report_sensor(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase,
                            report_mailer: ReportMailer, request_processing: RequestProcessing) -> dg.SkipReason:
    if not request_processing.enabled:
        return dg.SkipReason(request_processing.off_reason)
    platform_db.check_access()
    now = dt.datetime.now(dt.timezone.utc)
    outcomes = request_queue.evaluate_schedules(platform_db.engine, now=now)
    for o in outcomes:
        schedule = request_queue.schedule_for_notice(platform_db.engine, o.scheduled_report_id) if o.new_error else None
        if schedule is not None:
            sent = delivery.notify_schedule_error(report_mailer.mailer(), schedule, error=o.error or "",
                                                  sender=report_mailer.sender, reply_to=report_mailer.reply_to,
                                                  policy=delivery_policy_from_env())
            context.log.info(f"schedule {o.scheduled_report_id}: {sent} owners told it cannot run")
    for o in outcomes:
        if o.action == "claimed":
            context.log.info(f"schedule {o.scheduled_report_id}: slot {o.slot} → generated_report "
                             f"{o.generated_report_id}; next run {o.next_run_at}")
        elif o.action == "error":
            context.log.warning(f"schedule {o.scheduled_report_id}: {o.error}")
        else:
            context.log.info(f"schedule {o.scheduled_report_id}: {o.action} (next run {o.next_run_at})")
    claimed = sum(o.action == "claimed" for o in outcomes)
    return dg.SkipReason(f"{claimed} scheduled reports queued as pending rows; {len(outcomes) - claimed} other "
                         "schedules looked at (the request sensor launches the runs)")
