"""The whole path through Dagster: schedule or request row → sensor → generate_report run →
completed row, stored file, audit events → e-mail received by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from reporting_dagster.defs.requests import failures
from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.requests.sensors import report_request_sensor, scheduled_report_sensor
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase, RequestProcessing, SmtpReportMailer
from reporting_dagster.lib import render
from reporting_dagster.lib.delivery.verify import key_problem
from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.requests import queue as request_queue
from tests.request_builders import CANARY, time_world
from tests.smtp_server import smtp_server  # noqa: F401

UTC = dt.timezone.utc


@pytest.fixture
def setup(fresh_engine, fresh_url, tmp_path, smtp_server):  # noqa: F811
    world = time_world(fresh_engine)
    url = fresh_url.render_as_string(hide_password=False)
    resources = {
        "platform_db": PlatformDatabase(url=url),
        "report_store": LocalReportStore(directory=str(tmp_path / "store")),
        "report_mailer": SmtpReportMailer(url=smtp_server.url, sender="Reports <reports@example.com>"),
        "delivery_s3": S3Resource(region_name="us-east-1"),  # no s3 channel here: never called
        "request_processing": RequestProcessing(),
    }
    return world, resources, smtp_server, tmp_path / "store"


def _launch_pending(instance, resources, cursor=None):
    """One request-sensor tick, then every run it asks for, executed in process."""
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={
        "platform_db": resources["platform_db"], "request_processing": resources["request_processing"]})
    result = report_request_sensor(ctx)
    runs = [generate_report.execute_in_process(run_config=r.run_config, resources=resources, instance=instance,
                                               tags=r.tags, raise_on_error=False)
            for r in result.run_requests]
    return result, runs


def _audit(engine, report_id):
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.text(
            "SELECT event_type FROM audit_event WHERE entity_id = :id"), {"id": report_id}))


def test_scheduled_report_due_now_with_two_recipients_is_generated_and_mailed_once(setup):
    world, resources, smtp, store_dir = setup
    p = world["p"]
    template = p.template(world["helios"], "timesheet", file_format="csv", name="Team hours")
    sid = p.schedule(world["helios"], template, name="Monthly hours", day_of_month=1,
                     next_run_at=dt.datetime.now(UTC) - dt.timedelta(minutes=1),
                     recipients=[{"email": "ops@helios.example", "name": "Ops"}, {"email": "cfo@helios.example"}],
                     billing_period_id=p.row("billing_period", 2)["id"])
    platform = {"platform_db": resources["platform_db"], "report_mailer": resources["report_mailer"],
                "request_processing": resources["request_processing"]}
    with dg.instance_for_test() as instance:
        # two overlapping ticks of the schedule sensor: one report
        for _ in range(2):
            scheduled_report_sensor(dg.build_sensor_context(instance=instance, resources=platform))
        result, runs = _launch_pending(instance, resources)
        assert len(runs) == 1 and runs[0].success
        [report_id] = [int(r.tags["generated_report_id"]) for r in result.run_requests]
        row = p.row("generated_report", report_id)
        assert (row["report_status"], row["generation_source"], row["dagster_run_id"]) == \
            ("completed", "scheduled", runs[0].run_id)
        data = LocalStore(store_dir).get(row["file_path"])
        # October, grouped by member: Bea 90 + 30 billable + 45 non-billable = 2.75 h; the desk 60 non-billable
        assert b"Bea Rossi,2.75,2.00,0.75,3\r\nfield.desk@helios.example,1.00,0.00,1.00,1" in data
        assert CANARY.encode() not in data
        messages = smtp.messages
        assert sorted(m["To"] for m in messages) == ["Ops <ops@helios.example>", "cfo@helios.example"]
        for m in messages:
            assert "Monthly hours" in m["Subject"] and "Helios Energy" in m["Subject"]
            [attachment] = [part for part in m.iter_attachments()]
            assert attachment.get_payload(decode=True) == data  # the stored bytes, BOM included
        schedule = p.row("scheduled_report", sid)
        assert schedule["last_run_status"] == "completed" and schedule["last_run_error"] is None
        assert _audit(p.engine, report_id) == ["REPORT_DELIVERED", "REPORT_DELIVERED", "REPORT_EXPORTED",
                                               "REPORT_GENERATED"]
        with p.engine.connect() as conn:
            details = conn.execute(sa.text("SELECT details FROM audit_event WHERE entity_id = :id AND "
                                           "event_type = 'REPORT_DELIVERED'"), {"id": report_id}).scalars().all()
        # who got what, with the report's type, format, parameters, row count and run
        assert {(d["recipient"], d["record_count"], d["file_format"], d["run_id"]) for d in details} == {
            ("ops@helios.example", 2, "csv", runs[0].run_id), ("cfo@helios.example", 2, "csv", runs[0].run_id)}
        assert [d["parameters"] for d in details] == [{}, {}]  # the row asked for its billing period only
        # the run retried (re-executed with the same config): nothing rendered or sent again
        again = generate_report.execute_in_process(run_config=result.run_requests[0].run_config,
                                                   resources=resources, instance=instance)
        assert again.success and len(smtp.messages) == 2
        assert p.row("generated_report", report_id)["file_hash"] == row["file_hash"]
        # and the next tick launches nothing new
        assert not _launch_pending(instance, resources, result.cursor)[0].run_requests


def test_a_failing_schedule_notifies_its_owners_once_per_streak(setup):
    world, resources, smtp, _ = setup
    p = world["p"]
    template = p.template(world["helios"], "timesheet", file_format="pdf")
    sid = p.schedule(world["helios"], template, name="Broken hours", day_of_month=1,
                     recipients=[{"email": "ops@helios.example"}])
    with dg.instance_for_test() as instance:
        ids = []
        for _ in range(2):  # two runs in a row fail: the team is told once
            ids.append(p.request(world["helios"], "timesheet", "pdf", generation_source="scheduled",
                                 scheduled_report_id=sid, report_template_id=template,
                                 parameters={"group_by": "fortnight"}))
            _, runs = _launch_pending(instance, resources)
            assert [r.success for r in runs] == [False]
        for rid in ids:
            row = p.row("generated_report", rid)
            assert row["report_status"] == "failed" and "group_by must be one of" in row["processing_error"]
        schedule = p.row("scheduled_report", sid)
        assert schedule["last_run_status"] == "failed" and "group_by" in schedule["last_run_error"]
        notices = smtp.messages
        assert len(notices) == 1 and "failed" in notices[0]["Subject"].lower()


def test_launchpad_request_creates_its_row_and_mails_the_given_recipient(setup):
    world, resources, smtp, store_dir = setup
    p = world["p"]
    template = p.template(world["helios"], "project_profitability", file_format="xlsx", name="Margins")
    with dg.instance_for_test() as instance:
        result = generate_report.execute_in_process(resources=resources, instance=instance, run_config={"ops": {
            "render_report": {"config": {"template_id": template, "billing_period": "2026-10"}},
            "deliver_report": {"config": {"recipients": ["finance@helios.example"]}},
        }})
    assert result.success
    with p.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM generated_report")).mappings().one()
    assert (row["report_status"], row["generation_source"], row["file_format"], row["name"]) == \
        ("completed", "on_demand", "xlsx", "Margins — October 2026")
    [message] = smtp.messages
    assert message["To"] == "finance@helios.example"
    assert LocalStore(store_dir).exists(row["file_path"])


def test_a_schedule_that_cannot_run_tells_its_owners_once(setup):
    world, resources, smtp, _ = setup
    p = world["p"]
    template = p.template(world["helios"], "timesheet")
    sid = p.schedule(world["helios"], template, name="Hours", day_of_month=1, timezone="Europe/Atlantis",
                     recipients=[{"email": "ops@helios.example"}, {"email": "not an address"}])
    platform = {"platform_db": resources["platform_db"], "report_mailer": resources["report_mailer"],
                "request_processing": resources["request_processing"]}
    with dg.instance_for_test() as instance:
        for _ in range(3):  # three ticks, one notice
            scheduled_report_sensor(dg.build_sensor_context(instance=instance, resources=platform))
    [notice] = smtp.messages
    assert notice["To"] == "ops@helios.example" and "Hours" in notice["Subject"]
    assert "unknown time zone 'Europe/Atlantis'" in notice.get_body(("plain",)).get_content()
    assert p.row("scheduled_report", sid)["last_run_status"] == "failed"


def test_a_completed_row_set_back_to_pending_runs_again_with_a_file_of_its_own(setup):
    """A row created hours ago, completed, then set back to pending by the platform (a user's
    retry): the reaper leaves it alone (no run has its new key yet), the next tick launches it
    under a new run key, and the new attempt writes a new object; the old one stays as it was."""
    world, resources, _, store_dir = setup
    p = world["p"]
    long_ago = dt.datetime.now(UTC) - dt.timedelta(hours=3)
    rid = p.request(world["helios"], "timesheet", "csv", created_at=long_ago,
                    parameters={"date_from": "2026-10-01", "date_to": "2026-10-31"})
    store = LocalStore(store_dir)
    with dg.instance_for_test() as instance:
        first, [run1] = _launch_pending(instance, resources)
        assert run1.success and first.run_requests[0].run_key == f"generated_report-{rid}-after-none"
        old = p.row("generated_report", rid)
        old_bytes = store.get(old["file_path"])
        with p.engine.begin() as conn:
            conn.execute(sa.text("UPDATE generated_report SET report_status = 'pending' WHERE id = :id"), {"id": rid})
        reaped = failures.stuck_report_reaper(dg.build_sensor_context(instance=instance, resources={
            "platform_db": resources["platform_db"], "report_mailer": resources["report_mailer"],
            "request_processing": resources["request_processing"]}))
        assert reaped.skip_message == "0 stuck reports marked failed"
        assert p.row("generated_report", rid)["report_status"] == "pending"
        second, [run2] = _launch_pending(instance, resources, first.cursor)
        micros = int(old["processing_completed_at"].timestamp() * 1_000_000)  # its completion: the latest stamp
        assert second.run_requests[0].run_key == f"generated_report-{rid}-after-{run1.run_id}-at-{micros}"
        assert run2.success
        new = p.row("generated_report", rid)
        assert (new["report_status"], new["dagster_run_id"]) == ("completed", run2.run_id)
        assert new["file_path"] != old["file_path"] and new["processing_started_at"] > old["processing_started_at"]
        assert hashlib.sha256(store.get(new["file_path"])).hexdigest() == new["file_hash"]
        assert store.get(old["file_path"]) == old_bytes  # objects are written once
        # its first completed attempt, and its own claim (µs since the epoch)
        claim = lambda row: int(row["processing_started_at"].timestamp() * 1_000_000)  # noqa: E731
        stem = old["file_path"].removesuffix(f"-c{claim(old)}.csv")
        assert new["file_path"] == f"{stem}-a1-c{claim(new)}.csv"
        assert key_problem(p.engine, new) is None  # delivery takes it for the row's own file
        assert not _launch_pending(instance, resources, second.cursor)[0].run_requests
    assert _audit(p.engine, rid) == ["REPORT_EXPORTED", "REPORT_EXPORTED", "REPORT_GENERATED", "REPORT_GENERATED"]


def test_a_row_failed_while_its_run_rendered_gets_one_notice_and_never_the_report(setup, monkeypatch):
    """The reaper fails a scheduled row while its run still renders (the run looked dead: cut off
    from the database for longer than the heartbeat window). The owners get the one failure
    notice; the run's completion finds the row failed and leaves it so: no report is sent after
    the notice, and the run is not retried."""
    world, resources, smtp, _ = setup
    p = world["p"]
    template = p.template(world["helios"], "timesheet", file_format="csv")
    sid = p.schedule(world["helios"], template, name="Hours", day_of_month=1,
                     recipients=[{"email": "ops@helios.example"}])
    rid = p.request(world["helios"], "timesheet", "csv", generation_source="scheduled", scheduled_report_id=sid,
                    report_template_id=template)
    real = render.render

    def reaped_meanwhile(doc, file_format):
        row = request_queue.report_for_failure(p.engine, rid)
        assert failures._fail(resources["platform_db"], resources["report_mailer"], row, row["dagster_run_id"],
                              "stuck in processing: its worker stopped", logging.getLogger("test"),
                              processing=True, started_at=row["processing_started_at"])
        return real(doc, file_format)

    monkeypatch.setattr(render, "render_within_budget", reaped_meanwhile)
    with dg.instance_for_test() as instance:
        _, [run] = _launch_pending(instance, resources)
    assert not run.success
    [failure] = [e for e in run.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "not recorded, nothing delivered" in failure.event_specific_data.error.message
    row = p.row("generated_report", rid)
    assert (row["report_status"], row["processing_error"], row["file_path"]) == (
        "failed", "stuck in processing: its worker stopped", None)
    [notice] = smtp.messages
    assert notice["To"] == "ops@helios.example" and "failed" in notice["Subject"].lower()
    assert p.row("scheduled_report", sid)["last_run_status"] == "failed"
    assert _audit(p.engine, rid) == ["REPORT_FAILED"]
