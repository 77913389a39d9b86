"""delivery_retry_sensor's own promises (real PostgreSQL, aiosmtpd, Dagster runs): a scheduled
report its run never delivered is delivered once, within a bounded window; the sensor skips
while the platform's processor owns the rows; a report whose file is not its own is not retried;
one report it cannot handle never stops the others."""

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from reporting_dagster.defs.delivery.retry import delivery_retry_sensor, redeliver_report
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase, RequestProcessing, SmtpReportMailer
from reporting_dagster.lib.infra.store import LocalStore
from tests.delivery_builders import SENDER, Reports
from tests.smtp_server import smtp_server  # noqa: F401

ALICE, BOB = {"email": "alice@example.com", "name": "Alice"}, {"email": "bob@example.org"}


@pytest.fixture
def world(fresh_engine, fresh_url, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path / "store")
    resources = {
        "platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
        "report_store": LocalReportStore(directory=str(tmp_path / "store")),
        "report_mailer": SmtpReportMailer(url=smtp_server.url, sender=SENDER),
        "delivery_s3": S3Resource(region_name="us-east-1"),
        "request_processing": RequestProcessing(),
    }
    return Reports(fresh_engine, store), resources, smtp_server


def _completed(p, report_id, ago="1 hour"):
    """As the request path leaves it: completed `ago` by a run that beats no more (and never beat)."""
    with p.engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET processing_completed_at = now() - CAST(:ago AS interval), "
                             "dagster_run_id = 'gone-run' WHERE id = :id"), {"ago": ago, "id": report_id})


def _tick(instance, resources, **overrides):
    chosen = {**{k: resources[k] for k in ("platform_db", "report_mailer", "request_processing")}, **overrides}
    return delivery_retry_sensor(dg.build_sensor_context(instance=instance, resources=chosen))


def _redeliver(instance, resources, request):
    return redeliver_report.execute_in_process(
        run_config=request.run_config, resources={k: resources[k] for k in (
            "platform_db", "report_store", "report_mailer", "delivery_s3")},
        instance=instance, tags=request.tags, raise_on_error=False)


def test_a_report_its_run_never_delivered_is_delivered_once(world):
    p, resources, smtp = world
    org = p.org()
    schedule = p.schedule(org, recipients=[ALICE, BOB])
    old = p.report(org, schedule, name="Invoice comparison, three days old")
    report = p.report(org, schedule)
    _completed(p, report["id"])
    _completed(p, old["id"], "3 days")  # outside the window: history is never delivered out of the blue
    with dg.instance_for_test() as instance:
        [request] = _tick(instance, resources).run_requests
        assert request.run_key == f"deliver-{report['id']}-missing-0"
        assert request.tags["delivery_round"] == "missing"
        assert _redeliver(instance, resources, request).success
        assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["alice@example.com", "bob@example.org"]
        assert [d[:4] for d in p.deliveries(report["id"])] == [
            ("email", "alice@example.com", "sent", 1), ("email", "bob@example.org", "sent", 1)]
        assert p.schedule_row(schedule)["last_run_status"] == "completed"
        assert _tick(instance, resources).run_requests == []  # a second tick does nothing
        assert p.deliveries(old["id"]) == []
    assert len(smtp.received) == 2


def test_recipients_a_stopped_run_never_reached_are_reached_by_the_round(world):
    """The run sent to Alice, then stopped before Bob: the round claims Bob only."""
    p, resources, smtp = world
    org = p.org()
    report = p.report(org, p.schedule(org, recipients=[ALICE, BOB]))
    _completed(p, report["id"])
    with p.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO report_delivery (generated_report_id, channel, recipient, status, attempts, "
                             "sent_at) VALUES (:id, 'email', 'alice@example.com', 'sent', 1, now())"),
                     {"id": report["id"]})
    with dg.instance_for_test() as instance:
        [request] = _tick(instance, resources).run_requests
        assert request.run_key == f"deliver-{report['id']}-missing-1"
        assert _redeliver(instance, resources, request).success
        assert [r.rcpt_tos for r in smtp.received] == [["bob@example.org"]]
        assert _tick(instance, resources).run_requests == []


def test_the_sensor_skips_while_the_platform_processes_requests(world):
    p, resources, smtp = world
    org = p.org()
    report = p.report(org, p.schedule(org, recipients=[ALICE]))
    _completed(p, report["id"])
    off = RequestProcessing(enabled=False)
    with dg.instance_for_test() as instance:
        result = _tick(instance, resources, request_processing=off)
        assert result.run_requests == [] and result.skip_reason.skip_message == off.off_reason
        assert len(_tick(instance, resources).run_requests) == 1  # on: the same report is due


def test_a_report_whose_file_is_not_its_own_is_not_retried(world):
    """The platform re-completed the row with its own file: not ours to deliver."""
    p, resources, smtp = world
    org = p.org()
    report = p.report(org, p.schedule(org, recipients=[ALICE]))
    _completed(p, report["id"])
    with p.engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET file_path = :k WHERE id = :id"),
                     {"k": f"platform/{org}/comparison.csv", "id": report["id"]})
    with dg.instance_for_test() as instance:
        assert _tick(instance, resources).run_requests == []
    assert p.deliveries(report["id"]) == []


def test_one_report_that_cannot_be_handled_never_stops_the_others(world):
    """A 5,000-deep recipients array (psycopg's json.loads would recurse past the limit): the
    sensor goes on to the good report, and the bad one's round records why, visibly."""
    p, resources, smtp = world
    org = p.org()
    bad_schedule = p.schedule(org, recipients=[], name="Deep")
    with p.engine.begin() as conn:
        conn.execute(sa.text("UPDATE scheduled_report SET recipients = CAST(:r AS jsonb) WHERE id = :id"),
                     {"r": "[" + "[" * 4999 + "]" * 4999 + ', "bob@example.org"]', "id": bad_schedule})
    bad = p.report(org, bad_schedule, name="Deep comparison")
    good = p.report(org, p.schedule(org, recipients=[ALICE]))
    _completed(p, bad["id"], "2 hours")  # the older one first: it is looked at before the good one
    _completed(p, good["id"])
    # a stale handed-over claim of the bad report: settling it records its schedule's outcome
    with p.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO report_delivery (generated_report_id, channel, recipient, status, attempts, claimed_at, "
            "handed_over_at) VALUES (:id, 'email', 'x@example.com', 'claimed', 1, now() - interval '1 hour', "
            "now() - interval '1 hour')"), {"id": bad["id"]})
    with dg.instance_for_test() as instance:
        requests = {int(r.tags["delivery_of_report"]): r for r in _tick(instance, resources).run_requests}
        assert set(requests) == {bad["id"], good["id"]}
        for request in requests.values():
            _redeliver(instance, resources, request)
    assert [r.rcpt_tos for r in smtp.received] == [["alice@example.com"]]
    assert p.delivery(good["id"], "alice@example.com")["status"] == "sent"
    unreadable = p.delivery(bad["id"], "(recipients)")
    assert unreadable["status"] == "failed" and unreadable["error"].startswith(
        "invalid recipient: recipients is not readable: it is nested too deeply")
    with p.engine.connect() as conn:  # not SELECT *: psycopg would parse the deep recipients itself
        error = conn.execute(sa.text("SELECT last_run_error FROM scheduled_report WHERE id = :id"),
                             {"id": bad_schedule}).scalar_one()
    assert "(recipients): invalid recipient: recipients is not readable" in error


def test_a_report_whose_outcome_raises_is_logged_and_the_others_go_on(world, monkeypatch):
    """Whatever else goes wrong with one report (here its outcome cannot be recorded), the tick
    still settles and launches the others."""
    from reporting_dagster.lib.delivery import outcome

    p, resources, smtp = world
    org = p.org()
    first, second = (p.report(org, p.schedule(org, recipients=[ALICE], name=n)) for n in ("First", "Second"))
    with p.engine.begin() as conn:
        for report in (first, second):
            conn.execute(sa.text(
                "INSERT INTO report_delivery (generated_report_id, channel, recipient, status, attempts, claimed_at, "
                "handed_over_at) VALUES (:id, 'email', 'alice@example.com', 'claimed', 1, now() - interval '1 hour', "
                "now() - interval '1 hour')"), {"id": report["id"]})
    real = outcome.record_outcome

    def record(engine, mailer, *, generated_report_id, **kwargs):
        if generated_report_id == first["id"]:
            raise RuntimeError("the database went away")
        return real(engine, mailer, generated_report_id=generated_report_id, **kwargs)

    monkeypatch.setattr(outcome, "record_outcome", record)
    with dg.instance_for_test() as instance:
        _tick(instance, resources)
    assert p.delivery(first["id"], "alice@example.com")["status"] == "sent"  # settled before the outcome
    with p.engine.connect() as conn:
        statuses = dict(conn.execute(sa.text(
            "SELECT g.id, s.last_run_status FROM generated_report g JOIN scheduled_report s "
            "ON s.id = g.scheduled_report_id")).all())
    assert statuses == {first["id"]: None, second["id"]: "completed"}
