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
from reporting_dagster.lib import db, records
from reporting_dagster.lib.paths import read_sql
from reporting_dagster.lib.request_runner import run_request
from reporting_dagster.lib.store import LocalStore
from tests.platform_triggers import install_generated_report_trigger
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
        assert [r.run_key for r in on.run_requests] == [f"generated_report-{i}-attempt-1" for i in pending]


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
        # pending for hours and no run of ours ever launched for it
        never = row(created_at=long_ago)
        rows = [platform_row, ours_ended, ours_gone, retaken, never]

        def reap(enabled):
            return failures.stuck_report_reaper(dg.build_sensor_context(instance=instance, resources={
                "platform_db": PlatformDatabase(url=url), "report_mailer": OutboxReportMailer(directory=str(tmp_path)),
                "request_processing": RequestProcessing(enabled=enabled)}))

        off = reap(False)
        assert off.skip_message.startswith("1 stuck reports of our runs marked failed; pending rows left alone")
        assert _statuses(engine, rows) == {
            platform_row: ("processing", None), ours_ended: ("failed", ended_run),
            ours_gone: ("processing", "run-deleted"), retaken: ("processing", ended_run), never: ("pending", None)}
        assert "its run ended SUCCESS without finishing it" in p.row("generated_report", ours_ended)["processing_error"]

        on = reap(True)
        assert on.skip_message == "2 stuck reports marked failed"
        assert _statuses(engine, rows) == {
            platform_row: ("processing", None), ours_ended: ("failed", ended_run),
            ours_gone: ("failed", "run-deleted"), retaken: ("processing", ended_run), never: ("failed", None)}
        assert "its run no longer exists" in p.row("generated_report", ours_gone)["processing_error"]
        assert "no run was ever launched" in p.row("generated_report", never)["processing_error"]
    # only the rows failed here have a REPORT_FAILED event
    assert [p.audit(r) for r in rows] == [[], ["REPORT_FAILED"], ["REPORT_FAILED"], [], ["REPORT_FAILED"]]


def test_the_run_failure_sensor_leaves_a_pending_row_to_the_platform_when_switched_off(world, tmp_path):
    p, engine, url = world["p"], world["p"].engine, world["url"]
    rid = p.request(world["org"], "timesheet")
    mailer = OutboxReportMailer(directory=str(tmp_path / "outbox"))
    with dg.instance_for_test() as instance:
        # the run dies before it could claim the row (its database is unreachable)
        run = generate_report.execute_in_process(
            run_config={"ops": {"render_report": {"config": {"generated_report_id": rid}}}}, instance=instance,
            tags={"generated_report_id": str(rid)}, raise_on_error=False, resources={
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

        sensor(False)
        assert _statuses(engine, [rid]) == {rid: ("pending", None)}  # the platform's processor may take it
        with engine.begin() as conn:  # had the run claimed it, the row is ours whatever the switch
            conn.execute(sa.text("UPDATE generated_report SET report_status = 'processing', dagster_run_id = :r "
                                 "WHERE id = :id"), {"r": run.run_id, "id": rid})
        sensor(False)
        assert _statuses(engine, [rid]) == {rid: ("failed", run.run_id)}
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE generated_report SET report_status = 'pending' WHERE id = :id"), {"id": rid})
        sensor(True)  # switched on, a row its run never claimed is failed (nobody else will take it)
        row = p.row("generated_report", rid)
        assert row["report_status"] == "failed" and row["processing_error"].startswith("run failed:")


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
