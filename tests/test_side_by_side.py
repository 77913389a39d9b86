"""Side by side with the platform's own report processor: the REPORTS_PROCESS_REQUESTS switch,
rows claimed exactly once against a competing claimant, and what our failure handling leaves
to the platform. Real PostgreSQL; sensors evaluated on instance_for_test()."""

from __future__ import annotations

import datetime as dt
import threading
import time

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from reporting_dagster.defs.requests import failures
from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.requests.sensors import report_request_sensor, scheduled_report_sensor
from reporting_dagster.defs.resources import (
    LocalReportStore,
    OutboxReportMailer,
    PlatformDatabase,
    RequestProcessing,
    request_processing_from_env,
    resources_from_env,
)
from reporting_dagster.lib.infra import db
from reporting_dagster.lib.operations import records
from reporting_dagster.lib.requests import queue as request_queue, schedule
from reporting_dagster.lib.infra.paths import read_sql
from reporting_dagster.lib.requests.run import run_request
from reporting_dagster.lib.infra.store import LocalStore
from tests.platform_triggers import install_generated_report_trigger, install_scheduled_report_trigger
from tests.request_builders import RequestPlatform

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
# what the platform's processor runs to take a pending row (the same kind of claim as ours)
PLATFORM_CLAIM = sa.text("UPDATE generated_report SET report_status = 'processing' "
                         "WHERE id = :id AND report_status = 'pending' RETURNING id")


@pytest.fixture
def world(fresh_engine, fresh_url):
    p = RequestPlatform(fresh_engine)
    for month in (9, 10):
        p.period(2026, month)
    org = p.org("Helios Energy")
    return {"p": p, "org": org, "url": fresh_url.render_as_string(hide_password=False)}


def _statuses(engine, ids):
    with engine.connect() as conn:
        return {r.id: (r.report_status, r.dagster_run_id) for r in conn.execute(sa.text(
            "SELECT id, report_status::text AS report_status, dagster_run_id FROM generated_report "
            "WHERE id = ANY(:ids)"), {"ids": list(ids)})}


# --- the switch ---

@pytest.mark.parametrize("value, enabled", [
    (None, True), ("", True), ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("Yes", True),
    ("false", False), ("False", False), ("0", False), ("no", False), (" NO ", False),
])
def test_the_switch_is_on_unless_set_to_a_false_value(monkeypatch, value, enabled):
    if value is None:
        monkeypatch.delenv("REPORTS_PROCESS_REQUESTS", raising=False)
    else:
        monkeypatch.setenv("REPORTS_PROCESS_REQUESTS", value)
    assert request_processing_from_env().enabled is enabled
    assert resources_from_env()["request_processing"].enabled is enabled


@pytest.mark.parametrize("value", ["maybe", "on", "2", "enabled", "nein"])
def test_any_other_switch_value_stops_the_load_with_a_clear_message(monkeypatch, value):
    monkeypatch.setenv("REPORTS_PROCESS_REQUESTS", value)
    with pytest.raises(ValueError) as raised:
        resources_from_env()  # what reporting_dagster.definitions calls when the code location loads
    assert str(raised.value) == (
        f"REPORTS_PROCESS_REQUESTS={value!r} is not a switch: set it to true or false "
        "(1/0 and yes/no are accepted too), or leave it unset for true")


def test_switched_off_the_sensors_launch_and_claim_nothing_and_say_why(world, tmp_path):
    p, engine, url = world["p"], world["p"].engine, world["url"]
    pending = [p.request(world["org"], "timesheet") for _ in range(3)]
    template = p.template(world["org"], "timesheet")
    sid = p.schedule(world["org"], template, day_of_month=1, next_run_at=dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC))
    off = RequestProcessing(enabled=False)
    with dg.instance_for_test() as instance:
        def context(processing, cursor=None):
            return dg.build_sensor_context(instance=instance, cursor=cursor, resources={
                "platform_db": PlatformDatabase(url=url), "request_processing": processing,
                "report_mailer": OutboxReportMailer(directory=str(tmp_path))})

        result = report_request_sensor(context(off, cursor="0"))
        assert isinstance(result, dg.SkipReason)
        assert result.skip_message == ("REPORTS_PROCESS_REQUESTS is off: the platform's own report processor "
                                       "handles pending generated_report rows and due scheduled_report rows")
        schedule_result = scheduled_report_sensor(context(off))
        assert schedule_result.skip_message == result.skip_message
        # nothing claimed, nothing queued: the rows are as the platform left them
        assert _statuses(engine, pending) == {i: ("pending", None) for i in pending}
        row = p.row("scheduled_report", sid)
        assert row["next_run_at"] == dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC) and row["last_run_at"] is None
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM generated_report")).scalar() == 3
        # switched on again, the same rows get their runs (the cursor did not move while off)
        on = report_request_sensor(context(RequestProcessing(enabled=True), cursor="0"))
        assert [r.run_key for r in on.run_requests] == [f"generated_report-{i}-after-none" for i in pending]


# --- what the failure handling leaves to the platform ---

@dg.op
def _noop():
    pass


@dg.job
def _finished_job():
    _noop()


def test_the_reaper_fails_only_rows_our_runs_hold_and_pending_rows_only_when_switched_on(
        world, tmp_path, monkeypatch):
    p, engine, url = world["p"], world["p"].engine, world["url"]
    monkeypatch.setattr(failures, "STUCK_AFTER", dt.timedelta(0))  # every processing row is looked at
    long_ago = dt.datetime.now(UTC) - dt.timedelta(hours=3)
    with dg.instance_for_test() as instance:
        ended_run = _finished_job.execute_in_process(instance=instance).run_id

        def row(**values):
            return p.request(world["org"], "timesheet", **values)

        # the platform's processor holds it: no dagster_run_id
        platform_row = row(report_status="processing", processing_started_at=long_ago)
        # held by our run, which ended without finishing it
        ours_ended = row(report_status="processing", dagster_run_id=ended_run, processing_started_at=long_ago)
        # held by a run this instance does not know (deleted by run retention, a new instance)
        ours_gone = row(report_status="processing", dagster_run_id="run-deleted", processing_started_at=long_ago)
        # failed by our run earlier, set back to pending, taken by the platform after our run ended:
        # it keeps our (stale) run id, but its processing started after that run's end
        retaken = row(report_status="processing", dagster_run_id=ended_run)
        # pending for hours and no run of ours launched for it yet (a user's retry of an old row):
        # the request sensor will launch it; it is never failed for being old
        never = row(created_at=long_ago)
        # pending, and the run launched for its current key was canceled before it started
        canceled = row(created_at=long_ago)
        canceled_run = instance.create_run_for_job(_finished_job, status=dg.DagsterRunStatus.CANCELED, tags={
            request_queue.RUN_KEY_TAG: request_queue.run_key(canceled, None)}).run_id
        rows = [platform_row, ours_ended, ours_gone, retaken, never, canceled]

        def reap(enabled):
            return failures.stuck_report_reaper(dg.build_sensor_context(instance=instance, resources={
                "platform_db": PlatformDatabase(url=url), "report_mailer": OutboxReportMailer(directory=str(tmp_path)),
                "request_processing": RequestProcessing(enabled=enabled)}))

        off = reap(False)
        assert off.skip_message.startswith("1 stuck reports of our runs marked failed; pending rows left alone")
        assert _statuses(engine, rows) == {
            platform_row: ("processing", None), ours_ended: ("failed", f"reaped:{ended_run}"),
            ours_gone: ("processing", "run-deleted"), retaken: ("processing", ended_run), never: ("pending", None),
            canceled: ("pending", None)}
        assert "its run ended SUCCESS without finishing it" in p.row("generated_report", ours_ended)["processing_error"]

        on = reap(True)
        assert on.skip_message == "2 stuck reports marked failed"
        # the canceled row now names the run that did not take it: set back to pending, it gets a new key
        assert _statuses(engine, rows) == {
            platform_row: ("processing", None), ours_ended: ("failed", f"reaped:{ended_run}"),
            ours_gone: ("failed", "reaped:run-deleted"), retaken: ("processing", ended_run), never: ("pending", None),
            canceled: ("failed", f"reaped:{canceled_run}")}
        assert "its run no longer exists" in p.row("generated_report", ours_gone)["processing_error"]
        assert p.row("generated_report", canceled)["processing_error"] == (
            f"never processed: its run {canceled_run} ended CANCELED before taking it; "
            "set it back to pending to try again")
    # only the rows failed here have a REPORT_FAILED event
    assert [p.audit(r) for r in rows] == [[], ["REPORT_FAILED"], ["REPORT_FAILED"], [], [], ["REPORT_FAILED"]]


def test_the_run_failure_sensor_leaves_a_pending_row_to_the_platform_when_switched_off(world, tmp_path):
    p, engine, url = world["p"], world["p"].engine, world["url"]
    rid = p.request(world["org"], "timesheet")
    mailer = OutboxReportMailer(directory=str(tmp_path / "outbox"))
    key = request_queue.run_key(rid, None)
    with dg.instance_for_test() as instance:
        # the run dies before it could claim the row (its database is unreachable)
        run = generate_report.execute_in_process(
            run_config={"ops": {"render_report": {"config": {"generated_report_id": rid}}}}, instance=instance,
            tags={"generated_report_id": str(rid), request_queue.RUN_KEY_TAG: key}, raise_on_error=False, resources={
                "platform_db": PlatformDatabase(url="postgresql://nobody@127.0.0.1:9/unreachable"),
                "report_store": LocalReportStore(directory=str(tmp_path / "store")), "report_mailer": mailer,
                "delivery_s3": S3Resource(region_name="us-east-1")})
        assert not run.success

        def sensor(enabled):
            context = dg.build_run_status_sensor_context(
                sensor_name="report_run_failure_sensor", dagster_event=run.get_run_failure_event(),
                dagster_instance=instance, dagster_run=run.dagster_run, resources={
                    "platform_db": PlatformDatabase(url=url), "report_mailer": mailer,
                    "request_processing": RequestProcessing(enabled=enabled)}).for_run_failure()
            failures.report_run_failure_sensor(context)

        def set_row(status, run_id):
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE generated_report SET report_status = CAST(:s AS report_status), "
                                     "dagster_run_id = :r WHERE id = :id"), {"s": status, "r": run_id, "id": rid})

        sensor(False)
        assert _statuses(engine, [rid]) == {rid: ("pending", None)}  # the platform's processor may take it
        set_row("processing", run.run_id)  # had the run claimed it, the row is ours whatever the switch
        sensor(False)
        assert _statuses(engine, [rid]) == {rid: ("failed", f"reaped:{run.run_id}")}  # no retry of it takes it
        set_row("pending", run.run_id)  # a user's retry after that run: not failed for the run's death
        sensor(True)
        assert _statuses(engine, [rid]) == {rid: ("pending", run.run_id)}
        set_row("pending", None)  # as the run left it: pending under that run's key (never held since)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE generated_report SET processing_started_at = NULL, "
                                 "processing_completed_at = NULL WHERE id = :id"), {"id": rid})
        sensor(True)  # switched on, a row its run never claimed is failed (nobody else will take it)
        row = p.row("generated_report", rid)
        assert row["report_status"] == "failed" and row["processing_error"].startswith("run failed before taking it:")
        assert row["dagster_run_id"] == f"reaped:{run.run_id}"  # set back to pending, it gets a new run key


# --- exactly once against a competing claimant ---

def test_each_pending_row_is_claimed_by_exactly_one_of_two_racing_processors(world):
    p, engine = world["p"], world["p"].engine
    install_generated_report_trigger(engine)
    ids = [p.request(world["org"], "timesheet") for _ in range(50)]
    barrier = threading.Barrier(2, timeout=30)
    ours: list[int] = []
    theirs: list[int] = []
    errors: list[BaseException] = []

    def dagster_run():
        try:
            for rid in ids:
                barrier.wait()  # both claimants go for the same row at the same moment
                if records.claim_report(engine, rid, "run-ours"):
                    ours.append(rid)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)
            barrier.abort()

    def platform_processor():
        try:
            for rid in ids:
                barrier.wait()
                with engine.begin() as conn:
                    if conn.execute(PLATFORM_CLAIM, {"id": rid}).first() is not None:
                        theirs.append(rid)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=dagster_run), threading.Thread(target=platform_processor)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert set(ours).isdisjoint(theirs)  # never both
    assert sorted(ours + theirs) == ids  # always one
    # each row says who holds it: ours carry our run id, the platform's none
    assert _statuses(engine, ids) == {**{i: ("processing", "run-ours") for i in ours},
                                      **{i: ("processing", None) for i in theirs}}
    with engine.connect() as conn:  # both claims start the processing clock (ours, or the platform's trigger)
        assert conn.execute(sa.text("SELECT count(*) FROM generated_report WHERE processing_started_at IS NULL")
                            ).scalar() == 0


def _waiting_on_a_lock(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
            "AND query LIKE '%UPDATE generated_report%'")).scalar() > 0


def test_a_run_waiting_for_a_row_the_platform_is_claiming_skips_it_when_the_platform_commits(world, tmp_path):
    p, engine = world["p"], world["p"].engine
    rid = p.request(world["org"], "timesheet", "csv")
    platform = engine.connect()
    tx = platform.begin()
    assert platform.execute(PLATFORM_CLAIM, {"id": rid}).first() is not None  # not committed yet
    outcome = {}
    read = lambda name, **params: db.read_frame(engine, read_sql(name), params)  # noqa: E731
    ours = threading.Thread(target=lambda: outcome.update(result=run_request(
        engine, LocalStore(tmp_path), read, rid, run_id="run-ours", now=NOW)))
    ours.start()
    deadline = time.monotonic() + 20
    while not _waiting_on_a_lock(engine):  # our claim waits for the platform's row lock
        assert time.monotonic() < deadline and ours.is_alive(), "our claim never waited for the platform's"
        time.sleep(0.05)
    tx.commit()
    platform.close()
    ours.join(20)
    result = outcome["result"]
    # the claim re-reads the committed row: no longer pending, so this run does nothing
    assert result.outcome == "skipped" and result.message == (
        f"generated_report {rid} is processing; not taken by this run")
    assert _statuses(engine, [rid]) == {rid: ("processing", None)}
    assert list(tmp_path.rglob("*.csv")) == [] and p.audit(rid) == []


def test_a_row_the_platform_took_and_failed_is_not_taken_by_our_run_launched_for_it(world, tmp_path):
    """Our sensor launched a run for a pending row; before that run started, the platform's
    processor took the row and failed it. Our run must not process it a second time."""
    p, engine = world["p"], world["p"].engine
    rid = p.request(world["org"], "timesheet", "csv")
    with engine.begin() as conn:
        assert conn.execute(PLATFORM_CLAIM, {"id": rid}).first() is not None
        conn.execute(sa.text("UPDATE generated_report SET report_status = 'failed', processing_error = 'platform' "
                             "WHERE id = :id"), {"id": rid})
    read = lambda name, **params: db.read_frame(engine, read_sql(name), params)  # noqa: E731
    result = run_request(engine, LocalStore(tmp_path), read, rid, run_id="run-ours", now=NOW)
    assert result.outcome == "skipped" and result.message == f"generated_report {rid} is failed; not taken by this run"
    assert p.row("generated_report", rid)["processing_error"] == "platform" and p.audit(rid) == []
    # our own failed row is still taken over by a retry of the run that failed it
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET dagster_run_id = 'run-first' WHERE id = :id"), {"id": rid})
    assert records.claim_report(engine, rid, "run-retry", parent_run_id="run-first")
    assert _statuses(engine, [rid]) == {rid: ("processing", "run-retry")}


def test_a_request_completes_with_consistent_times_under_the_platform_timestamps_trigger(world, tmp_path):
    p, engine = world["p"], world["p"].engine
    install_generated_report_trigger(engine)
    rid = p.request(world["org"], "timesheet", "csv", billing_period_id=p.row("billing_period", 2)["id"])
    read = lambda name, **params: db.read_frame(engine, read_sql(name), params)  # noqa: E731
    assert run_request(engine, LocalStore(tmp_path), read, rid, run_id="run-ours", now=NOW).outcome == "completed"
    row = p.row("generated_report", rid)
    assert row["report_status"] == "completed" and row["dagster_run_id"] == "run-ours"
    assert row["processing_started_at"] <= row["processing_completed_at"] and row["processing_time_ms"] >= 0


# --- the platform's scheduled_report trigger ---

def _next_run(engine, frequency, day, time_of_day, zone, after):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT platform_next_run_time(:f, :d, CAST(:t AS time), :z, :a)"), {
            "f": frequency, "d": day, "t": time_of_day, "z": zone, "a": after}).scalar()


def test_the_trigger_fixture_sets_next_run_at_to_the_first_slot_after_the_last_run(world):
    p, engine = world["p"], world["p"].engine
    install_scheduled_report_trigger(engine)
    # Oct 1 06:00 CEST = 04:00 UTC has just run → Nov 1 06:00 CET = 05:00 UTC
    assert _next_run(engine, "monthly", 1, "06:00", "Europe/Berlin", dt.datetime(2026, 10, 1, 4, 0, 5, tzinfo=UTC)) \
        == dt.datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    # New York leaves summer time at 02:00 on Sunday Nov 1, 2026: 06:00 EST = 11:00 UTC (Oct 1: 10:00 UTC)
    assert _next_run(engine, "monthly", 1, "06:00", "America/New_York",
                     dt.datetime(2026, 10, 1, 10, 0, 5, tzinfo=UTC)) == dt.datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    # strictly after: a slot equal to the last run is not the next one; quarters start Jan/Apr/Jul/Oct
    assert _next_run(engine, "quarterly", 5, "06:00", "UTC", dt.datetime(2026, 7, 5, 6, 0, tzinfo=UTC)) \
        == dt.datetime(2026, 10, 5, 6, 0, tzinfo=UTC)
    # annual: January 15, 09:30 in Tokyo (UTC+9) = 00:30 UTC
    assert _next_run(engine, "annual", 15, "09:30", "Asia/Tokyo", dt.datetime(2026, 3, 1, tzinfo=UTC)) \
        == dt.datetime(2027, 1, 15, 0, 30, tzinfo=UTC)
    # Auckland (UTC+13 in November): 23:00 local on the 28th is 10:00 UTC, the slot 23:30 is 10:30 UTC
    assert _next_run(engine, "monthly", 28, "23:30", "Pacific/Auckland", dt.datetime(2026, 11, 28, 10, 0, tzinfo=UTC)) \
        == dt.datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    assert _next_run(engine, "on_demand", None, "06:00", "UTC", dt.datetime(2026, 3, 1, tzinfo=UTC)) is None
    # on the table: an INSERT and every UPDATE recompute it, whatever the statement wrote
    template = p.template(world["org"], "timesheet")
    sid = p.schedule(world["org"], template, day_of_month=1, last_run_at=dt.datetime(2026, 10, 1, 6, 0, 30, tzinfo=UTC),
                     next_run_at=dt.datetime(2030, 1, 1, tzinfo=UTC))
    assert p.row("scheduled_report", sid)["next_run_at"] == dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE scheduled_report SET next_run_at = NULL, name = 'renamed' WHERE id = :id"),
                     {"id": sid})
    assert p.row("scheduled_report", sid)["next_run_at"] == dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def _schedule_reports(engine, sid):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT id, report_status::text FROM generated_report "
                                    "WHERE scheduled_report_id = :s ORDER BY id"), {"s": sid}).all()


def test_under_the_trigger_a_due_slot_fires_once_and_its_later_updates_do_not_rearm_it(world):
    p, engine = world["p"], world["p"].engine
    install_scheduled_report_trigger(engine)
    template = p.template(world["org"], "timesheet")
    # it ran on Oct 1 at 06:00:30 Berlin summer time (04:00:30 UTC): the trigger says Nov 1 06:00 CET = 05:00 UTC
    sid = p.schedule(world["org"], template, day_of_month=1, time_of_day="06:00", timezone="Europe/Berlin",
                     last_run_at=dt.datetime(2026, 10, 1, 4, 0, 30, tzinfo=UTC))
    assert p.row("scheduled_report", sid)["next_run_at"] == dt.datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    now = dt.datetime(2026, 11, 1, 5, 1, tzinfo=UTC)
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list = []

    def evaluate():
        barrier.wait()
        outcomes.extend(request_queue.evaluate_schedules(engine, now=now))

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    [claimed] = [o for o in outcomes if o.action == "claimed"]
    assert [o.action for o in outcomes if o.action != "claimed"] in ([], ["lost"])
    assert claimed.slot == dt.datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    assert claimed.next_run_at == dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # what the row holds
    [(report_id, status)] = _schedule_reports(engine, sid)
    assert status == "pending"
    row = p.row("scheduled_report", sid)
    assert (row["last_run_at"], row["next_run_at"], row["last_run_status"]) == (
        now, dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC), "pending")
    # the report completes: the outcome UPDATE fires the trigger again, from the same last run
    request_queue.record_schedule_outcome(engine, scheduled_report_id=sid, generated_report_id=report_id,
                                          status="completed", error=None)
    row = p.row("scheduled_report", sid)
    assert (row["last_run_status"], row["next_run_at"]) == ("completed", dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC))
    # and the next tick does not fire the slot again
    assert request_queue.evaluate_schedules(engine, now=now + dt.timedelta(minutes=1)) == []
    assert len(_schedule_reports(engine, sid)) == 1
    # the next slot fires when it comes: Dec 1 06:00 CET, then Jan 1 06:00 CET = 05:00 UTC
    [december] = request_queue.evaluate_schedules(engine, now=dt.datetime(2026, 12, 1, 5, 0, 10, tzinfo=UTC))
    assert (december.action, december.next_run_at) == ("claimed", dt.datetime(2027, 1, 1, 5, 0, tzinfo=UTC))
    assert len(_schedule_reports(engine, sid)) == 2


def test_under_the_trigger_a_schedule_paused_for_months_fires_once_not_per_missed_slot(world):
    p, engine = world["p"], world["p"].engine
    install_scheduled_report_trigger(engine)
    template = p.template(world["org"], "timesheet")
    sid = p.schedule(world["org"], template, day_of_month=1, is_active=False,
                     last_run_at=dt.datetime(2026, 3, 1, 6, 0, 30, tzinfo=UTC))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE scheduled_report SET is_active = true WHERE id = :id"), {"id": sid})
    assert p.row("scheduled_report", sid)["next_run_at"] == dt.datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
    now = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    [outcome] = request_queue.evaluate_schedules(engine, now=now)
    # last_run_at becomes the evaluation time, not the April slot: the trigger's next slot is then
    # Dec 1, not May 1 (which would fire again on the next tick, once per missed month)
    assert (outcome.action, outcome.next_run_at) == ("claimed", dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    for minutes in (1, 2):
        assert request_queue.evaluate_schedules(engine, now=now + dt.timedelta(minutes=minutes)) == []
    assert len(_schedule_reports(engine, sid)) == 1


def test_under_the_trigger_two_sensor_ticks_queue_one_report(world, tmp_path):
    p, engine, url = world["p"], world["p"].engine, world["url"]
    install_scheduled_report_trigger(engine)
    template = p.template(world["org"], "timesheet")
    # last ran 40 days ago: at least one 1st-of-the-month 06:00 UTC slot has passed since
    last_run = dt.datetime.now(UTC) - dt.timedelta(days=40)
    sid = p.schedule(world["org"], template, day_of_month=1, last_run_at=last_run)
    due = p.row("scheduled_report", sid)["next_run_at"]
    assert due == schedule.next_run_time("monthly", 1, "06:00", "UTC", last_run) <= dt.datetime.now(UTC)
    with dg.instance_for_test() as instance:
        def tick():
            return scheduled_report_sensor(dg.build_sensor_context(instance=instance, resources={
                "platform_db": PlatformDatabase(url=url), "request_processing": RequestProcessing(),
                "report_mailer": OutboxReportMailer(directory=str(tmp_path))})).skip_message

        assert tick().startswith("1 scheduled reports queued")
        assert tick().startswith("0 scheduled reports queued")
        [(report_id, _)] = _schedule_reports(engine, sid)
        row = p.row("scheduled_report", sid)
        # the trigger and our claim agree: the first slot after the tick that fired
        assert row["next_run_at"] == schedule.next_run_time("monthly", 1, "06:00", "UTC", row["last_run_at"])
        assert row["next_run_at"] > dt.datetime.now(UTC) and row["last_run_at"] >= due
        request_queue.record_schedule_outcome(engine, scheduled_report_id=sid, generated_report_id=report_id,
                                              status="failed", error="disk full")
        assert p.row("scheduled_report", sid)["next_run_at"] == row["next_run_at"]
        assert tick().startswith("0 scheduled reports queued")
    assert len(_schedule_reports(engine, sid)) == 1


def test_under_the_trigger_a_schedule_that_cannot_run_is_told_once_and_starves_no_due_one(world):
    p, engine = world["p"], world["p"].engine
    install_scheduled_report_trigger(engine)
    other = p.org("Another Org")
    foreign = p.template(other, "timesheet")  # a template of another organization: cannot run
    last_run = dt.datetime(2026, 10, 1, 6, 0, 30, tzinfo=UTC)  # → due Nov 1 06:00 UTC
    broken = [p.schedule(world["org"], foreign, name=f"broken {i}", day_of_month=1, last_run_at=last_run)
              for i in range(3)]
    healthy = p.schedule(world["org"], p.template(world["org"], "timesheet"), name="due", day_of_month=1,
                         last_run_at=last_run)
    now = dt.datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    ticks = [request_queue.evaluate_schedules(engine, now=now, limit=2) for _ in range(2)]
    stamps = {s: p.row("scheduled_report", s)["updated_at"] for s in broken}
    ticks.append(request_queue.evaluate_schedules(engine, now=now + dt.timedelta(minutes=1), limit=2))
    # the trigger keeps the broken rows due (next_run_at Nov 1 again after every UPDATE) ...
    assert all(p.row("scheduled_report", s)["next_run_at"] == dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
               for s in broken)
    # ... yet each error is recorded and told once, the rows are not rewritten every tick,
    told = [o.scheduled_report_id for tick in ticks for o in tick if o.new_error]
    assert sorted(told) == broken
    assert {s: p.row("scheduled_report", s)["updated_at"] for s in broken} == stamps
    assert all("belongs to another organization" in p.row("scheduled_report", s)["last_run_error"] for s in broken)
    # and the healthy schedule got its one report on the second tick
    assert [o.action for o in ticks[1] if o.scheduled_report_id == healthy] == ["claimed"]
    assert len(_schedule_reports(engine, healthy)) == 1


def test_a_slot_at_or_before_the_last_run_is_moved_on_not_fired_again(world):
    """What a trigger that sets next_run_at back onto the slot just fired would leave."""
    p, engine = world["p"], world["p"].engine
    template = p.template(world["org"], "timesheet")
    sid = p.schedule(world["org"], template, day_of_month=1, next_run_at=dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
                     last_run_at=dt.datetime(2026, 11, 1, 6, 0, 30, tzinfo=UTC))
    [outcome] = request_queue.evaluate_schedules(engine, now=dt.datetime(2026, 11, 1, 6, 5, tzinfo=UTC))
    assert (outcome.action, outcome.next_run_at) == ("initialised", dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    assert _schedule_reports(engine, sid) == []
    assert p.row("scheduled_report", sid)["next_run_at"] == dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_a_row_the_platform_took_and_failed_launches_again_when_re_pended(world, tmp_path):
    """Our run for a row found the platform's processor had taken it (it ended SUCCESS without the
    row); the platform failed it (it keeps no run id of ours, and sets its timestamps). The user
    sets it back to pending: its run key is a new one, so the reaper leaves it alone (no run has
    that key) and the request sensor launches it."""
    p, engine, url = world["p"], world["p"].engine, world["url"]
    rid = p.request(world["org"], "timesheet")
    with dg.instance_for_test() as instance:
        first = instance.create_run_for_job(_finished_job, status=dg.DagsterRunStatus.SUCCESS, tags={
            request_queue.RUN_KEY_TAG: request_queue.run_key(rid, None)})
        with engine.begin() as conn:  # the platform takes it, then fails it
            conn.execute(sa.text("UPDATE generated_report SET report_status = 'processing', "
                                 "processing_started_at = now() WHERE id = :id"), {"id": rid})
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE generated_report SET report_status = 'failed', processing_error = 'x', "
                                 "processing_completed_at = now() WHERE id = :id"), {"id": rid})
        with engine.begin() as conn:  # the user's retry
            conn.execute(sa.text("UPDATE generated_report SET report_status = 'pending' WHERE id = :id"), {"id": rid})
        row = p.row("generated_report", rid)
        micros = int(row["processing_completed_at"].timestamp() * 1_000_000)
        resources = {"platform_db": PlatformDatabase(url=url), "report_mailer": OutboxReportMailer(directory=str(tmp_path)),
                     "request_processing": RequestProcessing(enabled=True)}
        reaped = failures.stuck_report_reaper(dg.build_sensor_context(instance=instance, resources=resources))
        assert reaped.skip_message == "0 stuck reports marked failed"
        assert _statuses(engine, [rid]) == {rid: ("pending", None)}
        tick = report_request_sensor(dg.build_sensor_context(instance=instance, cursor="0", resources={
            "platform_db": resources["platform_db"], "request_processing": resources["request_processing"]}))
        assert [r.run_key for r in tick.run_requests] == [f"generated_report-{rid}-after-none-at-{micros}"]
        assert first.tags[request_queue.RUN_KEY_TAG] == f"generated_report-{rid}-after-none"


def test_the_reapers_pending_window_moves_past_rows_whose_run_still_waits(world, tmp_path, monkeypatch):
    """A pending window of one row: the first row's run is going (it will claim the row: left
    alone on every tick); the cursor moves on, so the row behind it, whose run was canceled
    before taking it, is failed on the next tick."""
    monkeypatch.setattr(failures, "PENDING_LIMIT", 1)
    p, engine, url = world["p"], world["p"].engine, world["url"]
    waiting, canceled = p.request(world["org"], "timesheet"), p.request(world["org"], "timesheet")
    with dg.instance_for_test() as instance:
        instance.create_run_for_job(_finished_job, status=dg.DagsterRunStatus.STARTED, tags={
            request_queue.RUN_KEY_TAG: request_queue.run_key(waiting, None)})
        canceled_run = instance.create_run_for_job(_finished_job, status=dg.DagsterRunStatus.CANCELED, tags={
            request_queue.RUN_KEY_TAG: request_queue.run_key(canceled, None)}).run_id
        cursor = None
        messages = []
        for _ in range(2):
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={
                "platform_db": PlatformDatabase(url=url), "report_mailer": OutboxReportMailer(directory=str(tmp_path)),
                "request_processing": RequestProcessing(enabled=True)})
            messages.append(failures.stuck_report_reaper(context).skip_message)
            cursor = context.cursor
    assert messages == ["0 stuck reports marked failed", "1 stuck reports marked failed"]
    assert _statuses(engine, [waiting, canceled]) == {waiting: ("pending", None),
                                                      canceled: ("failed", f"reaped:{canceled_run}")}
