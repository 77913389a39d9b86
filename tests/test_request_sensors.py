"""Scheduled slots and pending rows → runs: claims, batching, run keys, reactivation, errors.

Sensors are evaluated with build_sensor_context on instance_for_test() against real PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading

import dagster as dg
import pytest
import sqlalchemy as sa

from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.requests.sensors import RUNS, report_request_sensor, scheduled_report_sensor
from reporting_dagster.defs.resources import PlatformDatabase, RequestProcessing
from reporting_dagster.lib.requests import queue as request_queue
from tests.request_builders import RequestPlatform

UTC = dt.timezone.utc


@pytest.fixture
def org(fresh_engine):
    p = RequestPlatform(fresh_engine)
    for month in (7, 8, 9, 10):
        p.period(2026, month)
    o = p.org("Helios Energy")
    return {"p": p, "org": o, "template": p.template(o, "timesheet", file_format="xlsx")}


def _reports(engine, schedule_id):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT g.id, g.generation_source::text AS src, g.report_status::text AS status, g.parameters, "
            "g.file_format::text AS fmt, b.start_date FROM generated_report g "
            "LEFT JOIN billing_period b ON b.id = g.billing_period_id "
            "WHERE scheduled_report_id = :s ORDER BY g.id"), {"s": schedule_id}).mappings()]


def test_new_schedule_gets_its_first_slot_then_fires_once_when_due(org):
    p, engine = org["p"], org["p"].engine
    sid = p.schedule(org["org"], org["template"], day_of_month=15, time_of_day="06:00", timezone="UTC")
    now = dt.datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    [first] = request_queue.evaluate_schedules(engine, now=now)
    assert first.action == "initialised" and first.next_run_at == dt.datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
    assert _reports(engine, sid) == []
    # not due yet at 05:59 on the 15th
    assert request_queue.evaluate_schedules(engine, now=dt.datetime(2026, 11, 15, 5, 59, tzinfo=UTC)) == []
    [due] = request_queue.evaluate_schedules(engine, now=dt.datetime(2026, 11, 15, 6, 0, 30, tzinfo=UTC))
    assert due.action == "claimed" and due.next_run_at == dt.datetime(2026, 12, 15, 6, 0, tzinfo=UTC)
    [report] = _reports(engine, sid)
    # the latest completed month on Nov 15 is October; the template's format
    assert (report["src"], report["status"], report["fmt"], report["start_date"]) == \
        ("scheduled", "pending", "xlsx", dt.date(2026, 10, 1))
    row = p.row("scheduled_report", sid)
    assert row["last_run_status"] == "pending" and row["next_run_at"] == dt.datetime(2026, 12, 15, 6, 0, tzinfo=UTC)


def test_two_concurrent_evaluations_claim_a_slot_once(org):
    p, engine = org["p"], org["p"].engine
    sids = [p.schedule(org["org"], org["template"], name=f"S{i}", day_of_month=1,
                       next_run_at=dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC)) for i in range(5)]
    now = dt.datetime(2026, 11, 1, 6, 1, tzinfo=UTC)
    results: list = []
    barrier = threading.Barrier(2)

    def evaluate():
        barrier.wait()
        results.extend(request_queue.evaluate_schedules(engine, now=now))

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(o.action for o in results if o.action == "claimed") == ["claimed"] * 5
    assert all(len(_reports(engine, s)) == 1 for s in sids)


def test_reactivated_schedule_fires_once_not_for_every_missed_slot(org):
    p, engine = org["p"], org["p"].engine
    # paused since March: its next_run_at is eight months old
    sid = p.schedule(org["org"], org["template"], day_of_month=1, is_active=False,
                     next_run_at=dt.datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    now = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert request_queue.evaluate_schedules(engine, now=now) == []  # inactive: nothing
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE scheduled_report SET is_active = true WHERE id = :id"), {"id": sid})
    outcomes = request_queue.evaluate_schedules(engine, now=now)
    assert [o.action for o in outcomes] == ["claimed"]
    assert request_queue.evaluate_schedules(engine, now=now + dt.timedelta(minutes=1)) == []
    assert len(_reports(engine, sid)) == 1
    assert p.row("scheduled_report", sid)["next_run_at"] == dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_quarterly_schedule_covers_the_last_completed_quarter(org):
    p, engine = org["p"], org["p"].engine
    sid = p.schedule(org["org"], org["template"], report_frequency="quarterly", day_of_month=5,
                     next_run_at=dt.datetime(2026, 10, 5, 6, 0, tzinfo=UTC))
    request_queue.evaluate_schedules(engine, now=dt.datetime(2026, 10, 5, 6, 0, 10, tzinfo=UTC))
    [report] = _reports(engine, sid)
    # run on Oct 5 → Q3: July to September; the row's period is the quarter's last month
    assert report["parameters"] == {"date_from": "2026-07-01", "date_to": "2026-09-30"}
    assert report["start_date"] == dt.date(2026, 9, 1)
    assert p.row("scheduled_report", sid)["next_run_at"] == dt.datetime(2027, 1, 5, 6, 0, tzinfo=UTC)


def test_a_schedule_that_cannot_run_gets_the_error_on_its_row_once(org):
    p, engine = org["p"], org["p"].engine
    bad = p.schedule(org["org"], org["template"], day_of_month=1, timezone="Mars/Olympus_Mons")
    good = p.schedule(org["org"], org["template"], name="fine", day_of_month=1)
    now = dt.datetime(2026, 11, 20, tzinfo=UTC)
    outcomes = {o.scheduled_report_id: o for o in request_queue.evaluate_schedules(engine, now=now)}
    assert outcomes[bad].action == "error" and "unknown time zone 'Mars/Olympus_Mons'" in outcomes[bad].error
    assert outcomes[good].action == "initialised"
    row = p.row("scheduled_report", bad)
    assert row["last_run_status"] == "failed" and "IANA" in row["last_run_error"]
    stamp = row["updated_at"]
    request_queue.evaluate_schedules(engine, now=now)
    assert p.row("scheduled_report", bad)["updated_at"] == stamp  # said once, not rewritten every tick


def _sensor_context(instance, engine_url, cursor=None, processing=True):
    return dg.build_sensor_context(instance=instance, cursor=cursor, resources={
        "platform_db": PlatformDatabase(url=engine_url), "request_processing": RequestProcessing(enabled=processing)})


def _launch(instance, result, status=dg.DagsterRunStatus.NOT_STARTED):
    """What the daemon does with a tick's run requests: a run per request (created, waiting in the
    queue), tagged as asked."""
    return [instance.create_run_for_job(generate_report, run_config=r.run_config, tags=r.tags, status=status)
            for r in result.run_requests]


def _key(report_id, after="none"):
    return f"generated_report-{report_id}-after-{after}"


def test_request_sensor_launches_batches_with_a_run_key_per_row_and_wait(org, fresh_url, monkeypatch):
    """One run per row (REPORTS_REQUEST_BATCH=1): at most RUNS runs per tick."""
    monkeypatch.setenv("REPORTS_REQUEST_BATCH", "1")
    BATCH = RUNS
    p, engine = org["p"], org["p"].engine
    ids = [p.request(org["org"], "timesheet") for _ in range(BATCH + 5)]
    done = p.request(org["org"], "timesheet", report_status="completed", dagster_run_id="run-done")
    url = fresh_url.render_as_string(hide_password=False)
    with dg.instance_for_test() as instance:
        first = report_request_sensor(_sensor_context(instance, url))
        assert [r.run_key for r in first.run_requests] == [_key(i) for i in ids[:BATCH]]
        assert first.cursor == str(ids[BATCH - 1])
        req = first.run_requests[0]
        assert req.run_config == {"ops": {"render_report": {"config": {"generated_report_id": ids[0]}}}}
        assert req.tags["generated_report_id"] == str(ids[0]) and req.tags["report_type"] == "timesheet"
        assert req.tags[request_queue.RUN_KEY_TAG] == _key(ids[0])
        _launch(instance, first)
        # a row deleted meanwhile is simply not there; the rest follow on the next tick, and the
        # rows launched already (queued runs) are passed over, not offered again
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM generated_report WHERE id = :id"), {"id": ids[-1]})
        second = report_request_sensor(_sensor_context(instance, url, first.cursor))
        assert [r.run_key for r in second.run_requests] == [_key(i) for i in ids[BATCH:-1]]
        assert second.cursor == str(ids[-2])
        _launch(instance, second)
        third = report_request_sensor(_sensor_context(instance, url, second.cursor))
        assert third.run_requests == [] and "29 pending rows whose run is launched already" in third.skip_reason.skip_message
        assert third.cursor == second.cursor
        # a row its run completed, set back to pending by the platform: a new key, found below the cursor
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE generated_report SET report_status = 'pending' WHERE id = :id"), {"id": done})
        again = report_request_sensor(_sensor_context(instance, url, third.cursor))
        assert [r.run_key for r in again.run_requests] == [_key(done, "run-done")]
        assert done not in ids


def test_rows_that_cannot_start_never_block_a_new_one(org, fresh_url):
    """30 pending rows whose runs wait in the queue (more than a batch) and one new row: the new row's
    run is requested on the next tick, whatever the cursor."""
    p = org["p"]
    url = fresh_url.render_as_string(hide_password=False)
    blocked = [p.request(org["org"], "timesheet") for _ in range(30)]
    with dg.instance_for_test() as instance:
        for cursor in (None, str(blocked[-1])):  # a fresh cursor, and one past them
            for rid in blocked:
                if not instance.get_runs(filters=dg.RunsFilter(tags={request_queue.RUN_KEY_TAG: _key(rid)})):
                    instance.create_run_for_job(generate_report, status=dg.DagsterRunStatus.NOT_STARTED, tags={
                        request_queue.RUN_KEY_TAG: _key(rid), "generated_report_id": str(rid)})
            new = p.request(org["org"], "timesheet")
            tick = report_request_sensor(_sensor_context(instance, url, cursor))
            assert [r.run_key for r in tick.run_requests] == [_key(new)]
            _launch(instance, tick)


def test_a_row_committed_after_a_higher_id_is_not_skipped(org, fresh_url):
    """Transaction A takes id n, B takes n+1 and commits first; the tick moves the cursor to n+1;
    A commits: its row is still offered (created within the late-commit window)."""
    p, engine = org["p"], org["p"].engine
    url = fresh_url.render_as_string(hide_password=False)
    late = engine.connect()
    tx = late.begin()
    late_id = late.execute(sa.text(
        "INSERT INTO generated_report (organization_id, report_type, file_format, generation_source, name) "
        "VALUES (:o, 'timesheet', 'csv', 'on_demand', 'late') RETURNING id"), {"o": org["org"]}).scalar_one()
    early_id = p.request(org["org"], "timesheet")
    assert early_id > late_id
    with dg.instance_for_test() as instance:
        first = report_request_sensor(_sensor_context(instance, url))
        assert [r.run_key for r in first.run_requests] == [_key(early_id)]
        _launch(instance, first)
        tx.commit()
        late.close()
        second = report_request_sensor(_sensor_context(instance, url, first.cursor))
        assert [r.run_key for r in second.run_requests] == [_key(late_id)]


def test_scheduled_sensor_queues_due_schedules(org, fresh_url, tmp_path):
    from reporting_dagster.defs.resources import OutboxReportMailer

    p = org["p"]
    sid = p.schedule(org["org"], org["template"], day_of_month=1,
                     next_run_at=dt.datetime(2026, 1, 1, 6, 0, tzinfo=UTC))
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={
            "platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
            "report_mailer": OutboxReportMailer(directory=str(tmp_path)), "request_processing": RequestProcessing()})
        result = scheduled_report_sensor(context)
    assert "1 scheduled reports queued" in str(result.skip_message)
    assert len(_reports(p.engine, sid)) == 1


def test_many_broken_schedules_do_not_starve_a_due_one(org):
    p, engine = org["p"], org["p"].engine
    for i in range(3):
        p.schedule(org["org"], org["template"], name=f"broken {i}", day_of_month=1, timezone="Nowhere/Land")
    due = p.schedule(org["org"], org["template"], name="due", day_of_month=1,
                     next_run_at=dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC))
    now = dt.datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    for _ in range(2):  # broken rows first make their error known, then stay out of the way
        request_queue.evaluate_schedules(engine, now=now, limit=2)
    assert len(_reports(engine, due)) == 1
