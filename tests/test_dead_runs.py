"""Dead runs found in minutes, not hours (issue 10 item 3): the reaper judges processing rows by
their run's heartbeats, whichever process or Dagster instance ran it, and every update it makes
is conditional on what it judged. Real PostgreSQL, real worker processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import pytest
import sqlalchemy as sa

from reporting_dagster.defs.requests import failures
from reporting_dagster.defs.resources import OutboxReportMailer, PlatformDatabase, RequestProcessing
from reporting_dagster.lib import render
from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.operations import heartbeat, records
from reporting_dagster.lib.requests import queue as request_queue
from reporting_dagster.lib.requests.run import run_request
from tests.builders import extract_reader
from tests.request_builders import time_world

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(fresh_engine, fresh_url, tmp_path, monkeypatch):
    w = time_world(fresh_engine)
    w["url"] = fresh_url.render_as_string(hide_password=False)
    monkeypatch.setattr(failures, "STUCK_AFTER", dt.timedelta(0))  # every processing row is looked at
    monkeypatch.setattr(failures, "DEAD_AFTER", 3.0)  # seconds, not minutes
    return w


def _reap(instance, world, tmp_path):
    return failures.stuck_report_reaper(dg.build_sensor_context(instance=instance, resources={
        "platform_db": PlatformDatabase(url=world["url"]), "report_mailer": OutboxReportMailer(directory=str(tmp_path)),
        "request_processing": RequestProcessing(enabled=True)}))


def _state(engine, rid):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT report_status::text, dagster_run_id, processing_error, file_path "
                                    "FROM generated_report WHERE id = :id"), {"id": rid}).one()


WORKER = """
import sys, time
from dagster_aws.s3 import S3Resource
from reporting_dagster.lib import render
from reporting_dagster.lib.operations import heartbeat

heartbeat.BEAT_SECONDS = 0.2

def blocked(doc, file_format):
    print("rendering", flush=True)
    time.sleep(600)

render.render_within_budget = blocked  # the request path renders through the budgeted pool
from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.resources import LocalReportStore, OutboxReportMailer, PlatformDatabase

generate_report.execute_in_process(  # its own (ephemeral) Dagster instance: the parent's knows nothing of it
    run_config={{"ops": {{"render_report": {{"config": {{"generated_report_id": {rid}}}}}}}}},
    resources={{"platform_db": PlatformDatabase(url={url!r}), "report_store": LocalReportStore(directory={store!r}),
               "report_mailer": OutboxReportMailer(directory={store!r}), "delivery_s3": S3Resource(region_name="us-east-1")}})
"""


def test_a_killed_cli_workers_row_is_failed_within_minutes(world, tmp_path):
    """A real worker process claims a request the way a run does (generate_report, its render
    blocked) in a Dagster instance of its own; while it beats the reaper leaves the row alone
    (its run is unknown here: the old rule called that dead); SIGKILLed, its row is failed once
    the last beat is older than DEAD_AFTER, saying the worker stopped."""
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "csv")
    script = WORKER.format(rid=rid, url=world["url"], store=str(tmp_path / "store"))
    worker = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert worker.stdout.readline().strip() == "rendering"
        status, run_id, _, _ = _state(p.engine, rid)
        assert status == "processing" and run_id
        with dg.instance_for_test() as instance:
            time.sleep(0.5)  # several beats
            assert _reap(instance, world, tmp_path).skip_message == "0 stuck reports marked failed"
            assert _state(p.engine, rid)[0] == "processing"
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            killed = time.monotonic()
            assert _reap(instance, world, tmp_path).skip_message == "0 stuck reports marked failed"  # inside the window
            while _state(p.engine, rid)[0] == "processing":
                assert time.monotonic() - killed < 3.0 + 5, "the killed worker's row was not failed"
                time.sleep(0.25)
                _reap(instance, world, tmp_path)
            seconds = time.monotonic() - killed
    finally:
        worker.kill()
        worker.wait(10)
    status, held_by, error, path = _state(p.engine, rid)
    assert (status, held_by, path) == ("failed", f"reaped:{run_id}", None)  # failed from outside its run
    assert error.startswith("stuck in processing: its worker stopped: no heartbeat since ")
    assert error.endswith("(killed, or cut off from the database); set it back to pending to try again")
    with p.engine.connect() as conn:
        last_beat, failed_at = conn.execute(sa.text(
            "SELECT (SELECT max(beat_at) FROM reporting_run_heartbeat WHERE run_id = :r), processing_completed_at "
            "FROM generated_report WHERE id = :id"), {"r": run_id, "id": rid}).one()
    assert failed_at - last_beat >= dt.timedelta(seconds=3.0)  # never before DEAD_AFTER without a beat
    assert seconds < 3.0 + 5  # DEAD_AFTER after the last beat (≤ 0.2 s before the kill), + a reaper tick
    print(f"killed worker's row failed {seconds:.1f} s after SIGKILL (DEAD_AFTER 3 s, beats every 0.2 s)")
    assert p.audit(rid) == ["REPORT_FAILED"]
    with p.engine.begin() as conn:  # the user asks again: a new run key, so it launches
        conn.execute(sa.text("UPDATE generated_report SET report_status = 'pending' WHERE id = :id"), {"id": rid})
    [again] = request_queue.pending_requests(p.engine, after_id=0, limit=10)
    micros = int(failed_at.timestamp() * 1_000_000)  # the failure is the row's latest stamp
    assert again.run_key == f"generated_report-{rid}-after-reaped:{run_id}-at-{micros}"


def test_a_run_that_beats_elsewhere_is_never_reaped_and_one_that_ended_is(world, tmp_path):
    """Rows of runs this instance does not know: one beating (another instance's live run) is left
    alone; once its process says it stopped, its row is failed at once; a row claimed after that
    (another processor, which kept the stale run id) is left alone."""
    p = world["p"]
    long_ago = dt.datetime.now(UTC) - dt.timedelta(hours=1)
    beat = heartbeat.Heartbeat(p.engine, "run-elsewhere", interval=0.2).start()
    live = p.request(world["helios"], "timesheet", report_status="processing", dagster_run_id="run-elsewhere",
                     processing_started_at=long_ago)
    with dg.instance_for_test() as instance:
        try:
            assert _reap(instance, world, tmp_path).skip_message == "0 stuck reports marked failed"
            assert _state(p.engine, live)[0] == "processing"
        finally:
            beat.stop()
        time.sleep(0.05)
        retaken = p.request(world["helios"], "timesheet", report_status="processing", dagster_run_id="run-elsewhere",
                            processing_started_at=dt.datetime.now(UTC))
        assert _reap(instance, world, tmp_path).skip_message == "1 stuck reports marked failed"
    assert _state(p.engine, live)[2] == ("stuck in processing: its run ended without finishing it; "
                                         "set it back to pending to try again")
    assert _state(p.engine, retaken)[0] == "processing"


def test_a_failure_is_conditional_on_the_claim_it_judged(world):
    """The reaper judged a row claimed at t; a retry claimed it again since (same run, a new
    attempt): the failure does nothing. A user's retry (pending again) is not failed either."""
    p = world["p"]
    first = dt.datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    rid = p.request(world["helios"], "timesheet", report_status="processing", dagster_run_id="run-a",
                    processing_started_at=first)
    kwargs = {"organization_id": world["helios"], "report_type": "timesheet", "file_format": "csv",
              "dagster_run_id": "run-a", "pending": False, "processing": True}
    with p.engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET processing_started_at = now() WHERE id = :id"), {"id": rid})
    assert records.fail_unfinished(p.engine, rid, "stuck", started_at=first, **kwargs) is False
    with p.engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET report_status = 'pending' WHERE id = :id"), {"id": rid})
    assert records.fail_unfinished(p.engine, rid, "stuck", **kwargs) is False
    assert _state(p.engine, rid)[0] == "pending" and p.audit(rid) == []


def test_completing_never_turns_a_failed_row_back(world, tmp_path, monkeypatch):
    """While the run renders, the reaper fails its row (it looked dead: database cut off for
    longer than DEAD_AFTER). The run's completion finds the row no longer its own: nothing is
    recorded, the row stays failed, and the outcome says so."""
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "csv")
    real = render.render

    def render_while_reaped(doc, file_format):
        assert records.fail_unfinished(
            p.engine, rid, "stuck in processing: its worker stopped", organization_id=world["helios"],
            report_type="timesheet", file_format="csv", dagster_run_id="run-slow", pending=False)
        return real(doc, file_format)

    monkeypatch.setattr(render, "render_within_budget", render_while_reaped)
    engine = p.engine
    outcome = run_request(engine, LocalStore(tmp_path), extract_reader(engine), rid, run_id="run-slow", now=NOW)
    assert outcome.outcome == "lost"
    assert outcome.message.startswith(f"generated_report {rid} was failed in run reaped:run-slow by the time its file was "
                                      "stored: reports/")
    assert outcome.message.endswith(".csv not recorded, nothing delivered")
    status, _, error, path = _state(engine, rid)
    assert (status, error, path) == ("failed", "stuck in processing: its worker stopped", None)
    assert p.audit(rid) == ["REPORT_FAILED"]


def _files(root):
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_a_row_the_reaper_failed_is_never_taken_over_by_a_retry_of_its_run(world, tmp_path):
    """The reaper fails a dead run's row (its owners are told it failed). The run is then retried
    (run monitoring marks it failed, dagster.yaml retries it): the child run does not take the
    row, so no report follows the failure notice. The user sets it back to pending: a new run
    (a new run key) takes it and completes it."""
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "csv")
    beat = heartbeat.Heartbeat(p.engine, "run-dead", interval=0.2).start()
    assert records.claim_report(p.engine, rid, "run-dead")
    beat.stop()  # its process said it stopped without finishing the row
    with dg.instance_for_test() as instance:
        assert _reap(instance, world, tmp_path).skip_message == "1 stuck reports marked failed"
    assert _state(p.engine, rid)[:2] == ("failed", "reaped:run-dead")
    store_dir = tmp_path / "store"
    child = run_request(p.engine, LocalStore(store_dir), extract_reader(p.engine), rid, run_id="run-child",
                        parent_run_id="run-dead", now=NOW)
    assert (child.outcome, child.message) == (
        "skipped", f"generated_report {rid} is failed in run reaped:run-dead; not taken by this run")
    assert _state(p.engine, rid)[:2] == ("failed", "reaped:run-dead")
    assert _files(store_dir) == [] and p.audit(rid) == ["REPORT_FAILED"]  # nothing rendered, recorded or sent

    with p.engine.begin() as conn:  # the user asks again
        conn.execute(sa.text("UPDATE generated_report SET report_status = 'pending' WHERE id = :id"), {"id": rid})
    [again] = request_queue.pending_requests(p.engine, after_id=0, limit=10)
    assert again.run_key.startswith(f"generated_report-{rid}-after-reaped:run-dead-at-")
    new = run_request(p.engine, LocalStore(store_dir), extract_reader(p.engine), rid, run_id="run-new", now=NOW)
    assert new.outcome == "completed", new.message
    assert _state(p.engine, rid)[:2] == ("completed", "run-new")
    assert p.audit(rid) == ["REPORT_FAILED", "REPORT_EXPORTED", "REPORT_GENERATED"]


def _reap_with_cursor(instance, world, tmp_path, cursor, enabled=True):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={
        "platform_db": PlatformDatabase(url=world["url"]), "report_mailer": OutboxReportMailer(directory=str(tmp_path)),
        "request_processing": RequestProcessing(enabled=enabled)})
    result = failures.stuck_report_reaper(context)
    return result.skip_message, context.cursor


def test_the_reaper_window_moves_past_rows_it_judged_not_ours(world, tmp_path, monkeypatch):
    """A window of one row: the first (claimed after its run ended: the platform's, keeping our
    stale run id) is left alone on every tick; the cursor moves on, so the dead run's row behind
    it is failed on the next tick, and the window starts over after a short one."""
    monkeypatch.setattr(failures, "STUCK_LIMIT", 1)
    p = world["p"]
    beat = heartbeat.Heartbeat(p.engine, "run-gone", interval=0.2).start()
    beat.stop()
    time.sleep(0.05)
    retaken = p.request(world["helios"], "timesheet", report_status="processing", dagster_run_id="run-gone",
                        processing_started_at=dt.datetime.now(UTC))  # claimed after run-gone stopped
    dead = p.request(world["helios"], "timesheet", report_status="processing", dagster_run_id="run-gone",
                     processing_started_at=dt.datetime.now(UTC) - dt.timedelta(hours=1))
    with dg.instance_for_test() as instance:
        message, cursor = _reap_with_cursor(instance, world, tmp_path, None)
        assert message == "0 stuck reports marked failed" and _state(p.engine, dead)[0] == "processing"
        message, cursor = _reap_with_cursor(instance, world, tmp_path, cursor)
        assert message == "1 stuck reports marked failed"
        message, cursor = _reap_with_cursor(instance, world, tmp_path, cursor)  # a short window: start over
        assert message == "0 stuck reports marked failed"
        assert json.loads(cursor)["processing"] == 0
    assert _state(p.engine, retaken)[0] == "processing"
    assert _state(p.engine, dead)[:2] == ("failed", "reaped:run-gone")


def test_old_heartbeats_are_pruned_with_request_processing_off(world, tmp_path):
    """The reaper forgets heartbeats older than 30 days whether or not requests are processed here
    (our runs beat either way)."""
    p = world["p"]
    heartbeat.Heartbeat(p.engine, "run-old", interval=0.2).start().stop()
    heartbeat.Heartbeat(p.engine, "run-recent", interval=0.2).start().stop()
    with p.engine.begin() as conn:
        conn.execute(sa.text("UPDATE reporting_run_heartbeat SET beat_at = now() - interval '31 days' "
                             "WHERE run_id = 'run-old'"))
    with dg.instance_for_test() as instance:
        message, _ = _reap_with_cursor(instance, world, tmp_path, None, enabled=False)
    assert message.startswith("0 stuck reports of our runs marked failed; pending rows left alone")
    with p.engine.connect() as conn:
        left = conn.execute(sa.text("SELECT DISTINCT run_id FROM reporting_run_heartbeat ORDER BY run_id")).scalars().all()
    assert left == ["run-recent"]
