"""SMTP down, through Dagster: the delivery step fails the run, the schedule says so, and
delivery_retry_sensor's redeliver_report runs deliver once the server is back (aiosmtpd), a
bounded number of times while it is not."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from reporting_dagster.defs.delivery.retry import delivery_retry_sensor, redeliver_report
from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.requests.sensors import report_request_sensor, scheduled_report_sensor
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase, RequestProcessing, SmtpReportMailer
from tests.request_builders import time_world
from tests.smtp_server import smtp_server  # noqa: F401

UTC = dt.timezone.utc
OWNERS = [{"email": "ops@helios.example", "name": "Ops"}, {"email": "cfo@helios.example"}]


@pytest.fixture
def setup(fresh_engine, fresh_url, tmp_path, smtp_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("REPORTS_DELIVERY_RETRY_BASE_SECONDS", "0")  # each retry due at once (5 attempts)
    world = time_world(fresh_engine)
    resources = {
        "platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
        "report_store": LocalReportStore(directory=str(tmp_path / "store")),
        "report_mailer": SmtpReportMailer(url=smtp_server.url, sender="Reports <reports@example.com>"),
        "delivery_s3": S3Resource(region_name="us-east-1"),
        "request_processing": RequestProcessing(),
    }
    p = world["p"]
    template = p.template(world["helios"], "timesheet", file_format="csv", name="Team hours")
    schedule = p.schedule(world["helios"], template, name="Monthly hours", day_of_month=1,
                          next_run_at=dt.datetime.now(UTC) - dt.timedelta(minutes=1), recipients=OWNERS,
                          billing_period_id=p.row("billing_period", 2)["id"])
    return p, schedule, resources, smtp_server


def _run_schedule(instance, resources):
    """The schedule's tick, the request sensor's tick, and the generate_report run it asks for."""
    scheduled_report_sensor(dg.build_sensor_context(instance=instance, resources={
        k: resources[k] for k in ("platform_db", "report_mailer", "request_processing")}))
    requests = report_request_sensor(dg.build_sensor_context(instance=instance, resources={
        k: resources[k] for k in ("platform_db", "request_processing")})).run_requests
    [request] = requests
    result = generate_report.execute_in_process(run_config=request.run_config, resources=resources,
                                                instance=instance, tags=request.tags, raise_on_error=False)
    return int(request.tags["generated_report_id"]), result


def _retry_tick(instance, resources):
    result = delivery_retry_sensor(dg.build_sensor_context(instance=instance, resources={
        k: resources[k] for k in ("platform_db", "report_mailer", "request_processing")}))
    return result.run_requests


def _redeliver(instance, resources, request):
    return redeliver_report.execute_in_process(
        run_config=request.run_config, resources={k: resources[k] for k in (
            "platform_db", "report_store", "report_mailer", "delivery_s3")},
        instance=instance, tags=request.tags, raise_on_error=False)


def _failure(result, step):
    [event] = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    return event.step_failure_data.user_failure_data.description


def _deliveries(p, report_id):
    with p.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT recipient, status, attempts, next_attempt_at IS NOT NULL FROM report_delivery "
            "WHERE generated_report_id = :id ORDER BY recipient"), {"id": report_id})]


def test_smtp_down_fails_the_run_and_the_schedule_and_the_retry_delivers_once(setup):
    p, schedule, resources, smtp = setup
    smtp.stop()
    with dg.instance_for_test() as instance:
        report_id, result = _run_schedule(instance, resources)
        assert not result.success
        assert p.row("generated_report", report_id)["report_status"] == "completed"  # the report was made
        failure = _failure(result, "deliver_report")
        assert failure.startswith(f"generated_report {report_id}: delivery failed for 2 of 2 deliveries tried: ")
        row = p.row("scheduled_report", schedule)
        assert row["last_run_status"] == "failed"
        assert row["last_run_error"].startswith("report made, delivery failed for 2 of 2 recipients: "
                                                "cfo@helios.example: ConnectionRefusedError")
        # the owners' notice could not go out either: its rows say so
        assert _deliveries(p, report_id) == [
            ("cfo@helios.example", "failed", 1, True), ("delivery-notice:cfo@helios.example", "failed", 1, False),
            ("delivery-notice:ops@helios.example", "failed", 1, False), ("ops@helios.example", "failed", 1, True)]

        smtp.start()
        [request] = _retry_tick(instance, resources)
        assert request.run_key == f"deliver-{report_id}-round-1-0"
        assert _retry_tick(instance, resources)[0].run_key == request.run_key  # the same round: one run
        retried = _redeliver(instance, resources, request)
        assert retried.success
        assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["cfo@helios.example", "ops@helios.example"]
        assert all("Monthly hours" in r.message["Subject"] for r in smtp.received)
        row = p.row("scheduled_report", schedule)
        assert (row["last_run_status"], row["last_run_error"]) == ("completed", None)
        assert [d[:3] for d in _deliveries(p, report_id) if not d[0].startswith("delivery-notice:")] == [
            ("cfo@helios.example", "sent", 2), ("ops@helios.example", "sent", 2)]
        # nothing more to do, and doing it again sends nothing
        assert _retry_tick(instance, resources) == []
        assert _redeliver(instance, resources, request).success
        assert len(smtp.received) == 2


def test_retries_stop_after_the_bound(setup):
    p, schedule, resources, smtp = setup
    smtp.stop()
    with dg.instance_for_test() as instance:
        report_id, result = _run_schedule(instance, resources)
        assert not result.success
        keys = []
        while requests := _retry_tick(instance, resources):
            assert len(keys) < 10
            [request] = requests
            keys.append(request.run_key)
            assert not _redeliver(instance, resources, request).success
        assert keys == [f"deliver-{report_id}-round-{n}-0" for n in (1, 2, 3, 4)]  # attempts 2 to 5
        assert [d for d in _deliveries(p, report_id) if not d[0].startswith("delivery-notice:")] == [
            ("cfo@helios.example", "failed", 5, False), ("ops@helios.example", "failed", 5, False)]
        row = p.row("scheduled_report", schedule)
        assert row["last_run_status"] == "failed" and "gave up after 5 attempts" in row["last_run_error"]
    assert smtp.received == []


def test_a_report_whose_delivery_step_failed_before_claiming_is_delivered_by_the_sensor(setup, monkeypatch):
    """A bad REPORTS_DELIVERY_* value stops the delivery step before its first claim: the report
    is made, no report_delivery row exists. Once the setting is fixed and the run is over by the
    lease, the sensor's round delivers it, once."""
    import time

    p, schedule, resources, smtp = setup
    monkeypatch.setenv("REPORTS_DELIVERY_MAX_ATTEMPTS", "many")
    with dg.instance_for_test() as instance:
        report_id, result = _run_schedule(instance, resources)
        assert not result.success and p.row("generated_report", report_id)["report_status"] == "completed"
        assert "REPORTS_DELIVERY_MAX_ATTEMPTS='many'" in str(
            [e for e in result.all_events if e.is_step_failure][0].step_failure_data.error)
        assert _deliveries(p, report_id) == []
        monkeypatch.setenv("REPORTS_DELIVERY_MAX_ATTEMPTS", "5")
        monkeypatch.setenv("REPORTS_DELIVERY_LEASE_SECONDS", "1")
        time.sleep(1.2)
        [request] = _retry_tick(instance, resources)
        assert request.run_key == f"deliver-{report_id}-missing-0"
        assert _redeliver(instance, resources, request).success
        assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["cfo@helios.example", "ops@helios.example"]
        assert _retry_tick(instance, resources) == []
        assert p.row("scheduled_report", schedule)["last_run_status"] == "completed"
    assert len(smtp.received) == 2
