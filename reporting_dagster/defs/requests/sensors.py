"""Sensors that turn the platform's report tables into runs.

- `scheduled_report_sensor`: due scheduled_report rows get their pending generated_report row
  (the slot is claimed atomically; next_run_at moves past now, so no catch-up runs).
- `report_request_sensor`: pending generated_report rows (on demand, and the scheduled ones
  above) become `generate_report` runs, at most RUNS per tick, one run key per row and wait
  (lib/requests/queue.run_key: it changes when the row is set back to pending). A short queue
  gets a run per row; a backed-up one several rows per run (lib/requests/batch.py).

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
from reporting_dagster.lib.requests import batch
from reporting_dagster.lib.requests import queue as request_queue

RUNS = 25  # runs launched per tick at most; the run queue limits how many run at once
PAGE = 100  # pending rows read at a time
MAX_SCAN = 2000  # pending rows looked at per tick at most (rows whose key has a run are passed over)


# targeted by name: a sensor holding the job object is rebuilt when Definitions binds the job's
# resources, and that rebuild passes a beta parameter (a BetaWarning on every load)
@dg.sensor(job_name=generate_report.name, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Launch generate_report for pending generated_report rows (batches, cursor on id).")
def report_request_sensor(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase,
                          request_processing: RequestProcessing) -> dg.SensorResult | dg.SkipReason:
    if not request_processing.enabled:
        return dg.SkipReason(request_processing.off_reason)  # the cursor stays where it was
    platform_db.check_access()  # a role RLS blinds sees no pending row: fail the tick, saying why
    after_id = int(context.cursor or 0)
    size = batch.batch_size()
    pending, cursor, passed = launchable(context.instance, platform_db.engine, after_id, limit=RUNS * size)
    # a row a dying batch released gets a run of its own (failures._release): it cannot take a
    # second batch down with it, and its own run failing before it fails it (no loop)
    alone = [p for p in pending if request_queue.releases(p.last_run_id)]
    rest = [p for p in pending if not request_queue.releases(p.last_run_id)]
    runs = [run_request([p]) for p in alone] + [run_request(group) for group in batch.groups(rest, size)]
    runs = runs[:RUNS]  # the rows left over have no run yet: the next tick's scan below the cursor finds them
    if not runs:
        return dg.SensorResult(skip_reason=f"no pending report without a run (cursor {after_id}; "
                                           f"{passed} pending rows whose run is launched already)",
                               cursor=str(cursor))
    return dg.SensorResult(run_requests=runs, cursor=str(cursor))


def run_request(rows: list[request_queue.PendingRequest]) -> dg.RunRequest:
    """The run of one row (tagged and keyed by it, as always), or of a batch: its rows' ids and
    each row's run key in tags of their own; the tags all its rows share."""
    first = rows[0]
    tags = {REQUEST_TAG: "requests", **batch.run_key_tags([p.run_key for p in rows])}
    for name, value in (("organization_id", lambda p: str(p.organization_id)),
                        ("report_type", lambda p: p.report_type),
                        ("generation_source", lambda p: p.generation_source)):
        if len({value(p) for p in rows}) == 1:
            tags[name] = value(first)
    if len(rows) == 1:
        return dg.RunRequest(
            run_key=first.run_key, tags={**tags, "generated_report_id": str(first.generated_report_id)},
            run_config={"ops": {"render_report": {"config": {"generated_report_id": first.generated_report_id}}}})
    ids = [p.generated_report_id for p in rows]
    return dg.RunRequest(
        run_key=batch.batch_run_key([p.run_key for p in rows]),
        tags={**tags, batch.REPORT_IDS_TAG: ",".join(map(str, ids))},
        run_config={"ops": {"render_report": {"config": {"generated_report_ids": ids}}}})


def launchable(instance: dg.DagsterInstance, engine: Engine, after_id: int,
               limit: int = RUNS) -> tuple[list[request_queue.PendingRequest], int, int]:
    """Up to `limit` pending rows whose run key has no run yet: new rows (above the cursor) first,
    then every pending row below it (set back to pending, or committed after a higher id).
    Rows whose key has a run (launched, queued, running, or finished without taking the row —
    the reaper's) are passed over, never a wall in front of the others. Returns the rows, the
    new cursor (the highest new id looked at) and how many rows were passed over."""
    chosen: list[request_queue.PendingRequest] = []
    cursor, scanned, passed = after_id, 0, 0
    for low, high in ((after_id, None), (0, after_id)):
        position = low
        while len(chosen) < limit and scanned < MAX_SCAN:
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
                if len(chosen) == limit:
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
