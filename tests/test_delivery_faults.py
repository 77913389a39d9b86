"""Delivery under faults, against real servers: a worker SIGKILLed mid-send (a child process),
an SMTP server that answers late or not at all, failures retried with backoff and a bound."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from reporting_dagster.lib.delivery import retry
from reporting_dagster.lib.delivery.deliver import deliver_report
from reporting_dagster.lib.delivery.mail import SmtpMailer
from reporting_dagster.lib.delivery.outcome import record_outcome
from reporting_dagster.lib.delivery.policy import DeliveryPolicy
from reporting_dagster.lib.infra.store import LocalStore
from tests.delivery_builders import SENDER, Reports
from tests.fault_proxy import fault_proxy  # noqa: F401
from tests.smtp_server import _free_port, smtp_server  # noqa: F401

ALICE, BOB = {"email": "alice@example.com", "name": "Alice"}, {"email": "bob@example.org"}
ROOT = Path(__file__).resolve().parents[1]
# the test's lease: a claim older than 1 s whose run has not beaten for 1 s is taken over
SHORT = DeliveryPolicy(lease_seconds=1, dead_after_seconds=1)


@pytest.fixture
def world(fresh_engine, tmp_path):
    store = LocalStore(tmp_path / "store")
    return Reports(fresh_engine, store), store


def _deliver(engine, store, report_id, mailer, **kwargs):
    return deliver_report(engine, store, mailer, generated_report_id=report_id, sender=SENDER, reply_to=None,
                          **kwargs)


def _kill_while_sending(fresh_url, store, report_id, smtp, phase):
    """A child process delivers the report; it is SIGKILLed when the server reaches `phase`."""
    hold = smtp.hold(phase, timeout=60)
    args = {"url": fresh_url.render_as_string(hide_password=False), "store": str(store.root), "report": report_id,
            "smtp": smtp.url, "run_id": f"killed-at-{phase.lower()}"}
    child = subprocess.Popen([sys.executable, "-m", "tests.delivery_child", json.dumps(args)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
    try:
        assert hold.reached.wait(60), "the child never reached the server"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        hold.release()
        if child.poll() is None:
            child.kill()
    return args["run_id"]


@pytest.mark.parametrize("phase", ["RCPT", "DATA"])
def test_a_delivery_killed_mid_send_reaches_its_recipient_exactly_once(phase, fresh_engine, fresh_url, world,
                                                                       smtp_server):  # noqa: F811
    """RCPT: killed before the message was handed over: the server dropped the partial transaction,
    the lease gives it to a retry, which sends it: one copy. DATA: killed after the server had the
    whole message (before its reply): counted as delivered, never sent again: one copy."""
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE]))
    run_id = _kill_while_sending(fresh_url, store, report["id"], smtp_server, phase)

    row = reports.delivery(report["id"], "alice@example.com")
    assert (row["status"], row["attempts"], row["claimed_by_run"]) == ("claimed", 1, run_id)
    assert (row["handed_over_at"] is not None) == (phase == "DATA")
    assert len(smtp_server.received) == (1 if phase == "DATA" else 0)
    mailer = SmtpMailer(smtp_server.url)
    # within the lease (the default 10 minutes) nobody takes the claim over
    assert [o.detail for o in _deliver(fresh_engine, store, report["id"], mailer, run_id="early").skipped] == \
        ["already claimed"]
    assert retry.due_reports(fresh_engine, DeliveryPolicy()) == []

    time.sleep(1.5)  # past the test's 1 s lease, and the killed run's last beat older than 1 s
    if phase == "RCPT":
        [due] = retry.due_reports(fresh_engine, SHORT)
        assert (due.generated_report_id, due.round, due.due) == (report["id"], 1, 1)
        summary = _deliver(fresh_engine, store, report["id"], mailer, run_id="retry", policy=SHORT, due_only=True)
        assert [o.recipient for o in summary.sent] == ["alice@example.com"]
        row = reports.delivery(report["id"], "alice@example.com")
        assert (row["status"], row["attempts"], row["claimed_by_run"], row["detail"]) == ("sent", 2, "retry", None)
        assert [(h["attempt"], h["run_id"], h["outcome"]) for h in row["history"]] == [
            (1, run_id, "abandoned"), (2, "retry", "sent")]
    else:
        assert retry.settle_abandoned(fresh_engine, SHORT) == {report["id"]}
        assert retry.due_reports(fresh_engine, SHORT) == []
        summary = _deliver(fresh_engine, store, report["id"], mailer, run_id="retry", policy=SHORT, due_only=True)
        assert summary.sent == [] and [o.detail for o in summary.skipped] == ["already sent"]
        row = reports.delivery(report["id"], "alice@example.com")
        assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 1, row["handed_over_at"])
        assert "not sent again" in row["detail"]
        assert [(h["attempt"], h["run_id"], h["outcome"]) for h in row["history"]] == [(1, run_id, "handed over")]
    # exactly one copy in total, to the one recipient
    assert [r.rcpt_tos for r in smtp_server.received] == [["alice@example.com"]]
    assert _deliver(fresh_engine, store, report["id"], mailer, policy=SHORT).sent == []
    assert len(smtp_server.received) == 1


def test_a_claim_abandoned_as_often_as_attempts_allow_is_given_up(fresh_engine, world, smtp_server):  # noqa: F811
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE]))
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO report_delivery (generated_report_id, channel, recipient, status, attempts, "
                             "claimed_at, claimed_by_run) VALUES (:id, 'email', 'alice@example.com', 'claimed', 5, "
                             "now() - interval '1 hour', 'dead-run')"), {"id": report["id"]})
    policy = DeliveryPolicy()  # 5 attempts
    assert retry.due_reports(fresh_engine, policy) == []
    assert retry.settle_abandoned(fresh_engine, policy) == {report["id"]}
    row = reports.delivery(report["id"], "alice@example.com")
    assert row["status"] == "failed" and row["next_attempt_at"] is None
    assert row["error"].startswith("abandoned by 5 runs that stopped while sending")
    assert smtp_server.received == []


def test_a_late_smtp_reply_is_recorded_as_sent_and_never_resent(fresh_engine, world, smtp_server):  # noqa: F811
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE]))
    smtp_server.reply_delay = 3.0  # accepts the message, answers 250 after 3 s
    mailer = SmtpMailer(smtp_server.url, timeout=1.0)
    started = time.monotonic()
    first = _deliver(fresh_engine, store, report["id"], mailer)
    assert time.monotonic() - started < 2.9  # the client gave up after its 1 s timeout
    assert [o.recipient for o in first.sent] == ["alice@example.com"] and first.failed == []
    row = reports.delivery(report["id"], "alice@example.com")
    assert row["status"] == "sent" and row["attempts"] == 1
    assert row["detail"].startswith("accepted, reply timed out: the server received the whole message but did not "
                                    "answer within 1 s")
    assert row["provider_message_id"] == smtp_server.received[0].message["Message-ID"]
    second = _deliver(fresh_engine, store, report["id"], mailer)
    assert second.sent == [] and [o.detail for o in second.skipped] == ["already sent"]
    assert [r.rcpt_tos for r in smtp_server.received] == [["alice@example.com"]]
    assert record_outcome(fresh_engine, mailer, generated_report_id=report["id"], sender=SENDER,
                          reply_to=None).status == "completed"


def test_a_timeout_before_the_message_was_complete_is_a_failure_to_retry(fresh_engine, world,
                                                                        smtp_server):  # noqa: F811
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE]))
    hold = smtp_server.hold("RCPT", timeout=3.0)  # no answer to RCPT TO for 3 s
    mailer = SmtpMailer(smtp_server.url, timeout=1.0)
    first = _deliver(fresh_engine, store, report["id"], mailer)
    hold.release()
    assert first.sent == [] and [o.recipient for o in first.failed] == ["alice@example.com"]
    assert first.failed[0].retry_at is not None
    row = reports.delivery(report["id"], "alice@example.com")
    assert (row["status"], row["handed_over_at"]) == ("failed", None)
    assert smtp_server.received == []
    second = _deliver(fresh_engine, store, report["id"], mailer)
    assert [o.recipient for o in second.sent] == ["alice@example.com"]
    assert [r.rcpt_tos for r in smtp_server.received] == [["alice@example.com"]]


def test_smtp_down_fails_with_backoff_and_the_bound(fresh_engine, world):
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE]))
    mailer = SmtpMailer(f"smtp://127.0.0.1:{_free_port()}", timeout=2)  # nothing listens there
    before = dt.datetime.now(dt.timezone.utc)
    summary = _deliver(fresh_engine, store, report["id"], mailer)
    assert [o.recipient for o in summary.failed] == ["alice@example.com"]
    assert "ConnectionRefusedError" in summary.failed[0].detail
    row = reports.delivery(report["id"], "alice@example.com")
    # attempt 1 failed: the next one 5 minutes later (the database's clock)
    assert dt.timedelta(minutes=5) <= row["next_attempt_at"] - before <= dt.timedelta(minutes=5, seconds=30)
    assert retry.due_reports(fresh_engine, DeliveryPolicy()) == []  # not due yet
    assert [DeliveryPolicy().retry_in(n) for n in range(1, 6)] == [300, 600, 1200, 2400, None]

    with fresh_engine.begin() as conn:  # five minutes pass
        conn.execute(sa.text("UPDATE report_delivery SET next_attempt_at = now() - interval '1 second'"))
    fast = DeliveryPolicy(retry_base_seconds=0)  # later retries due at once; the same five attempts
    rounds = 0
    while retry.due_reports(fresh_engine, fast):
        rounds += 1
        assert rounds <= 10
        _deliver(fresh_engine, store, report["id"], mailer, policy=fast, due_only=True)
    assert rounds == 4  # attempts 2 to 5
    row = reports.delivery(report["id"], "alice@example.com")
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("failed", 5, None)
    assert row["error"].endswith("(gave up after 5 attempts)")
    assert [h["outcome"] for h in row["history"]] == ["failed"] * 5
    assert [h["retry_at"] is None for h in row["history"]] == [False] * 4 + [True]


def test_one_owner_notice_per_failing_streak(fresh_engine, world, smtp_server):  # noqa: F811
    """Bob's mailbox refuses the report (550, not retried): the schedule fails and the owners
    hear of it once; the next failing report continues the streak; a good one ends it."""
    reports, store = world
    org = reports.org()
    schedule = reports.schedule(org, recipients=[ALICE, BOB])
    mailer = SmtpMailer(smtp_server.url)

    def month(refuse_bob: bool):
        report = reports.report(org, schedule)
        if refuse_bob:
            smtp_server.reject_once("bob@example.org")
        _deliver(fresh_engine, store, report["id"], mailer)
        return report["id"], record_outcome(fresh_engine, mailer, generated_report_id=report["id"],
                                            sender=SENDER, reply_to=None)

    first, outcome = month(refuse_bob=True)
    assert (outcome.status, outcome.notices_sent) == ("failed", 2)
    assert outcome.error.startswith("report made, delivery failed for 1 of 2 recipients: bob@example.org: ")
    assert "550" in outcome.error
    row = reports.schedule_row(schedule)
    assert (row["last_run_status"], row["last_run_error"]) == ("failed", outcome.error)
    notices = [r for r in smtp_server.received if "delivery failed" in r.message["Subject"]]
    assert sorted(r.rcpt_tos[0] for r in notices) == ["alice@example.com", "bob@example.org"]
    assert reports.deliveries(first) == [
        ("email", "alice@example.com", "sent", 1, None, False),
        ("email", "bob@example.org", "failed", 1, reports.delivery(first, "bob@example.org")["error"], False),
        ("email", "delivery-notice:alice@example.com", "sent", 1, None, False),
        ("email", "delivery-notice:bob@example.org", "sent", 1, None, False),
    ]
    _, outcome = month(refuse_bob=True)
    assert (outcome.status, outcome.notices_sent) == ("failed", 0)  # the streak goes on
    _, outcome = month(refuse_bob=False)
    assert (outcome.status, outcome.error) == ("completed", None)
    assert reports.schedule_row(schedule)["last_run_error"] is None
    _, outcome = month(refuse_bob=True)
    assert (outcome.status, outcome.notices_sent) == ("failed", 2)  # a new streak
    assert len([r for r in smtp_server.received if "delivery failed" in r.message["Subject"]]) == 4


def test_a_retry_round_reaches_given_recipients_and_drops_what_it_cannot_reach(fresh_engine, world,
                                                                             smtp_server):  # noqa: F811
    """An on-demand report mailed to a launchpad recipient is retried to that recipient; a due
    delivery its schedule no longer names is not retried (else a round would be launched forever)."""
    reports, store = world
    org = reports.org()
    on_demand = reports.report(org)
    down = SmtpMailer(f"smtp://127.0.0.1:{_free_port()}", timeout=2)
    _deliver(fresh_engine, store, on_demand["id"], down, recipients=["dora@example.com"])
    schedule = reports.schedule(org, recipients=[ALICE, BOB])
    scheduled = reports.report(org, schedule)
    _deliver(fresh_engine, store, scheduled["id"], down)
    with fresh_engine.begin() as conn:  # Bob leaves the schedule; the retries come due
        conn.execute(sa.text("UPDATE scheduled_report SET recipients = CAST(:r AS jsonb)"), {"r": json.dumps([ALICE])})
        conn.execute(sa.text("UPDATE report_delivery SET next_attempt_at = now() - interval '1 second'"))
    assert sorted(d.generated_report_id for d in retry.due_reports(fresh_engine, DeliveryPolicy())) == \
        [on_demand["id"], scheduled["id"]]
    up = SmtpMailer(smtp_server.url)
    for report in (on_demand, scheduled):
        _deliver(fresh_engine, store, report["id"], up, due_only=True)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == ["alice@example.com", "dora@example.com"]
    bob = reports.delivery(scheduled["id"], "bob@example.org")
    assert (bob["status"], bob["next_attempt_at"]) == ("failed", None)
    assert bob["error"].endswith("(no longer among the report's recipients: not retried)")
    assert retry.due_reports(fresh_engine, DeliveryPolicy()) == []


def test_an_ses_reply_that_never_comes_is_recorded_as_sent_and_never_resent(  # noqa: F811
        fresh_engine, world, fault_proxy, s3_endpoint, s3_bucket):
    """SES (moto) gets the request and sends it; its answer is held back by the proxy, so the
    client times out. That is "accepted, reply timed out": a retry round sends no second copy."""
    import urllib.parse

    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from reporting_dagster.lib.delivery.mail import SesMailer
    from reporting_dagster.lib.infra.limits import AwsLimits, ses_client

    p, store = world
    org = p.org()
    report = p.report(org, p.schedule(org, recipients=[ALICE]))
    boto3.client("ses", endpoint_url=s3_endpoint, region_name="us-east-1").verify_email_identity(
        EmailAddress="reports@example.com")
    proxy = fault_proxy("127.0.0.1", urllib.parse.urlsplit(s3_endpoint).port)
    mailer = SesMailer(ses_client("us-east-1", proxy.rewrite(s3_endpoint), AwsLimits(1.0, 1.0, 3)))
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages

    def copies() -> int:
        return sum("alice@example.com" in m.raw_data for m in sent if report["key"].rsplit("/", 1)[-1] in m.raw_data)

    policy = DeliveryPolicy(retry_base_seconds=0)  # were it a failure, the retry round would take it at once
    proxy.hang(direction="down")
    summary = _deliver(fresh_engine, store, report["id"], mailer, policy=policy)
    assert copies() == 1 and not summary.failed
    [outcome] = summary.sent
    assert outcome.detail.startswith("accepted, reply timed out: the request reached SES")

    proxy.pass_through()
    assert retry.due_reports(fresh_engine, policy) == []
    again = _deliver(fresh_engine, store, report["id"], mailer, policy=policy, due_only=True)
    assert again.sent == [] and again.failed == []
    assert copies() == 1
    row = p.delivery(report["id"], "alice@example.com")
    assert row["status"] == "sent" and row["attempts"] == 1 and "not sent again" in row["detail"]
