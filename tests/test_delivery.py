"""Delivery against real servers: PostgreSQL claims, aiosmtpd for e-mail, moto for S3 and SES."""

import hashlib
import json
import time
import urllib.parse
import urllib.request

import boto3
import pytest
import sqlalchemy as sa

from reporting_dagster.lib.delivery.deliver import NotDeliverable, deliver_report, notify_failure
from reporting_dagster.lib.delivery.mail import OutboxMailer, SesMailer, SmtpMailer
from reporting_dagster.lib.infra.store import LocalStore, S3Store
from tests.smtp_server import smtp_server  # noqa: F401

SENDER = "Reports <reports@example.com>"
CSV = b"# Invoice comparison\r\ncontract,variance\r\nC-1,-160.00\r\n"


def _seed(engine, store, *, recipients, delivery_method="email", s3_destination=None, scheduled=True,
          org_name="Sunfield Energy", status="completed", data=CSV, error=None):
    """One organization, January 2026, a template, a schedule and one generated report with its file."""
    with engine.begin() as conn:
        org = conn.execute(sa.text("INSERT INTO organization (name, created_at) VALUES (:n, now()) RETURNING id"),
                           {"n": org_name}).scalar_one()
        period = conn.execute(sa.text(
            "INSERT INTO billing_period (name, start_date, end_date) "
            "VALUES ('January 2026', '2026-01-01', '2026-01-31') RETURNING id")).scalar_one()
        template = conn.execute(sa.text(
            "INSERT INTO report_template (organization_id, name, report_type, file_format) "
            "VALUES (:org, 'Comparison', 'invoice_comparison', 'csv') RETURNING id"), {"org": org}).scalar_one()
        schedule = None
        if scheduled:
            schedule = conn.execute(sa.text(
                "INSERT INTO scheduled_report (organization_id, report_template_id, name, report_frequency, "
                "day_of_month, recipients, delivery_method, s3_destination) VALUES (:org, :t, "
                "'Monthly comparison', 'monthly', 5, CAST(:r AS jsonb), CAST(:m AS delivery_method), :d) "
                "RETURNING id"),
                {"org": org, "t": template, "r": json.dumps(recipients), "m": delivery_method,
                 "d": s3_destination}).scalar_one()
        report = conn.execute(sa.text(
            "INSERT INTO generated_report (organization_id, report_template_id, scheduled_report_id, "
            "generation_source, report_type, name, report_status, billing_period_id, file_format, "
            "processing_error) VALUES (:org, :t, :s, CAST(:src AS generation_source), 'invoice_comparison', "
            "'Invoice comparison January 2026', CAST(:st AS report_status), :p, 'csv', :e) RETURNING id"),
            {"org": org, "t": template, "s": schedule, "src": "scheduled" if scheduled else "on_demand",
             "st": status, "p": period, "e": error}).scalar_one()
        key = f"reports/{org}/2026/01/invoice_comparison-{report}.csv"
        if status == "completed":
            store.put(key, data, "text/csv")
            conn.execute(sa.text("UPDATE generated_report SET file_path = :k, file_size_bytes = :n, "
                                 "file_hash = :h WHERE id = :id"),
                         {"k": key, "n": len(data), "h": hashlib.sha256(data).hexdigest(), "id": report})
    return {"org": org, "report": report, "key": key}


def _deliveries(engine, report_id):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT channel, recipient, status, attempts, error IS NOT NULL FROM report_delivery "
            "WHERE generated_report_id = :id ORDER BY channel, recipient"), {"id": report_id})]


def _audit(engine, report_id):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT organization_id, event_type, entity_type, entity_id, details->>'channel', "
            "details->>'recipient', details->>'report_type', details->>'file_format', details->>'run_id' "
            "FROM audit_event WHERE entity_id = :id ORDER BY id"), {"id": report_id})]


ALICE = {"email": "alice@example.com", "name": "Alice Moyo"}
BOB = {"email": "Bob@Example.org"}


def test_email_over_smtp_with_link_attachment_rows_and_audit(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path / "reports")
    ids = _seed(fresh_engine, store, recipients=[ALICE, BOB, "alice@EXAMPLE.com"])
    summary = deliver_report(fresh_engine, store, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                             sender=SENDER, reply_to="finance@example.com", run_id="run-1")
    assert [str(o) for o in summary.sent] == ["email:alice@example.com", "email:bob@example.org"]
    assert summary.skipped == [] and summary.failed == []
    assert summary.as_metadata()["deliveries_sent"] == 2

    received = smtp_server.received
    assert [r.rcpt_tos for r in received] == [["alice@example.com"], ["Bob@Example.org"]]
    for r in received:
        m = r.message
        assert m["Subject"] == "Invoice comparison January 2026 — Sunfield Energy"  # the period once
        assert m["Reply-To"] == "finance@example.com"
        text = m.get_body(("plain",)).get_content()
        assert f"file://{tmp_path}/reports/{ids['key']}" in text and "expires" not in text
        [attachment] = list(m.iter_attachments())
        assert attachment.get_filename() == "Sunfield Energy – Invoice Comparison – 2026-01.csv"
        assert attachment.get_content_type() == "text/csv"
        assert attachment.get_payload(decode=True) == CSV
    assert _deliveries(fresh_engine, ids["report"]) == [
        ("email", "alice@example.com", "sent", 1, False), ("email", "bob@example.org", "sent", 1, False)]
    with fresh_engine.connect() as conn:
        provider_ids = conn.execute(sa.text("SELECT provider_message_id FROM report_delivery ORDER BY recipient"))
        assert [p for (p,) in provider_ids] == [r.message["Message-ID"] for r in received]
    assert _audit(fresh_engine, ids["report"]) == [
        (ids["org"], "REPORT_DELIVERED", "REPORT", ids["report"], "email", "alice@example.com",
         "invoice_comparison", "csv", "run-1"),
        (ids["org"], "REPORT_DELIVERED", "REPORT", ids["report"], "email", "bob@example.org",
         "invoice_comparison", "csv", "run-1"),
    ]


def test_retried_delivery_does_not_resend(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE, BOB])
    mailer = SmtpMailer(smtp_server.url)
    deliver_report(fresh_engine, store, mailer, generated_report_id=ids["report"], sender=SENDER, reply_to=None)
    again = deliver_report(fresh_engine, store, mailer, generated_report_id=ids["report"], sender=SENDER,
                           reply_to=None)
    assert again.sent == [] and again.failed == []
    assert [str(o) for o in again.skipped] == ["email:alice@example.com (already sent)",
                                                "email:bob@example.org (already sent)"]
    assert len(smtp_server.messages) == 2
    assert len(_audit(fresh_engine, ids["report"])) == 2


def test_a_claim_is_held_for_its_lease_and_while_its_run_beats(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE])
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO report_delivery (generated_report_id, channel, recipient, status, "
                             "attempts, claimed_at) VALUES (:id, 'email', 'alice@example.com', 'claimed', 1, "
                             "now() - interval '5 minutes')"), {"id": ids["report"]})
    mailer = SmtpMailer(smtp_server.url)

    def deliver():
        return deliver_report(fresh_engine, store, mailer, generated_report_id=ids["report"], sender=SENDER,
                              reply_to=None, run_id="run-2")

    # within the 10 minute lease: another run may still be sending
    assert [str(o) for o in deliver().skipped] == ["email:alice@example.com (already claimed)"]
    # past the lease, but its run still beats: still held
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE report_delivery SET claimed_at = now() - interval '1 hour', "
                             "claimed_by_run = 'run-1'"))
        conn.execute(sa.text("INSERT INTO reporting_run_heartbeat (run_id, hostname, pid) VALUES ('run-1', 'w1', 7)"))
    assert [str(o) for o in deliver().skipped] == ["email:alice@example.com (already claimed)"]
    assert smtp_server.messages == []
    # its run stopped beating three minutes ago (dead after two): taken over and sent, once
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE reporting_run_heartbeat SET beat_at = now() - interval '3 minutes'"))
    assert [str(o) for o in deliver().sent] == ["email:alice@example.com"]
    assert [str(o) for o in deliver().skipped] == ["email:alice@example.com (already sent)"]
    assert len(smtp_server.messages) == 1
    assert _deliveries(fresh_engine, ids["report"]) == [("email", "alice@example.com", "sent", 2, False)]
    with fresh_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT claimed_by_run, history FROM report_delivery")).one()
    assert row.claimed_by_run == "run-2"
    assert [(h["attempt"], h["run_id"], h["outcome"]) for h in row.history] == [
        (1, "run-1", "abandoned"), (2, "run-2", "sent")]


def test_invalid_recipient_fails_alone(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[
        {"email": "not-an-address"}, {"email": "x@example.com\r\nBcc: evil@example.net"}, ALICE])
    summary = deliver_report(fresh_engine, store, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                             sender=SENDER, reply_to=None)
    assert [o.recipient for o in summary.sent] == ["alice@example.com"]
    assert [o.recipient for o in summary.failed] == ["not-an-address", "x@example.com\r\nBcc: evil@example.net"]
    assert all(o.detail.startswith("invalid recipient: ") for o in summary.failed)
    assert [r.rcpt_tos for r in smtp_server.received] == [["alice@example.com"]]
    assert _deliveries(fresh_engine, ids["report"]) == [
        ("email", "alice@example.com", "sent", 1, False),
        ("email", "not-an-address", "failed", 1, True),
        ("email", "x@example.com\r\nBcc: evil@example.net", "failed", 1, True),
    ]
    assert [a[5] for a in _audit(fresh_engine, ids["report"])] == ["alice@example.com"]


def test_refused_recipient_is_retried_alone(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE, {"email": "carol@example.net", "name": "Carol"}])
    smtp_server.reject_once("carol@example.net")
    mailer = SmtpMailer(smtp_server.url)
    first = deliver_report(fresh_engine, store, mailer, generated_report_id=ids["report"], sender=SENDER,
                           reply_to=None)
    assert [o.recipient for o in first.sent] == ["alice@example.com"]
    assert [o.recipient for o in first.failed] == ["carol@example.net"] and "550" in first.failed[0].detail
    with fresh_engine.connect() as conn:
        error = conn.execute(sa.text("SELECT error FROM report_delivery WHERE recipient = 'carol@example.net'"))
        assert "550" in error.scalar_one()

    second = deliver_report(fresh_engine, store, mailer, generated_report_id=ids["report"], sender=SENDER,
                            reply_to=None)
    assert [o.recipient for o in second.sent] == ["carol@example.net"]
    assert [o.recipient for o in second.skipped] == ["alice@example.com"]
    assert smtp_server.rejected == ["carol@example.net"]
    assert [r.rcpt_tos for r in smtp_server.received] == [["alice@example.com"], ["carol@example.net"]]
    assert _deliveries(fresh_engine, ids["report"]) == [
        ("email", "alice@example.com", "sent", 1, False), ("email", "carol@example.net", "sent", 2, False)]


def test_large_file_sends_a_presigned_link_only(fresh_engine, s3_endpoint, s3_bucket, smtp_server):  # noqa: F811
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    store = S3Store(client, s3_bucket, prefix="tenant")
    ids = _seed(fresh_engine, store, recipients=[ALICE])
    deliver_report(fresh_engine, store, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                   sender=SENDER, reply_to=None, attachment_limit=len(CSV) - 1)
    [message] = smtp_server.messages
    assert list(message.iter_attachments()) == []
    text = message.get_body(("plain",)).get_content()
    assert "The link expires in 24 hours." in text and "too large to attach" in text
    link = next(word for word in text.split() if word.startswith("http"))
    assert f"/{s3_bucket}/tenant/{ids['key']}" in link
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    if "X-Amz-Expires" in query:  # SigV4 presigning: a lifetime in seconds
        assert query["X-Amz-Expires"] == ["86400"]
    else:  # SigV2 presigning: an absolute epoch
        assert abs(int(query["Expires"][0]) - (time.time() + 86400)) < 120
    with urllib.request.urlopen(link) as response:
        assert response.read() == CSV


def test_s3_destination_written_once(fresh_engine, tmp_path, s3_endpoint, s3_bucket):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE], delivery_method="s3",
                s3_destination=f"s3://{s3_bucket}/finance/monthly/")
    object_key = f"finance/monthly/{ids['org']}/2026/01/invoice_comparison-{ids['report']}.csv"
    uri = f"s3://{s3_bucket}/{object_key}"

    first = deliver_report(fresh_engine, store, None, generated_report_id=ids["report"], s3_client=client,
                           sender=SENDER, reply_to=None, run_id="run-9", allowed_buckets=[s3_bucket])
    assert [str(o) for o in first.sent] == [f"s3:{uri}"]
    stored = client.get_object(Bucket=s3_bucket, Key=object_key)
    assert stored["Body"].read() == CSV
    written_at = stored["LastModified"]

    second = deliver_report(fresh_engine, store, None, generated_report_id=ids["report"], s3_client=client,
                            sender=SENDER, reply_to=None, allowed_buckets=[s3_bucket])
    assert [str(o) for o in second.skipped] == [f"s3:{uri} (already sent)"]
    assert client.head_object(Bucket=s3_bucket, Key=object_key)["LastModified"] == written_at
    assert [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]] == [object_key]
    assert _audit(fresh_engine, ids["report"]) == [
        (ids["org"], "REPORT_DELIVERED", "REPORT", ids["report"], "s3", uri, "invoice_comparison", "csv", "run-9")]

    # bookkeeping lost: the identical object already there counts as delivered, nothing rewritten
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM report_delivery"))
    third = deliver_report(fresh_engine, store, None, generated_report_id=ids["report"], s3_client=client,
                           sender=SENDER, reply_to=None, allowed_buckets=[s3_bucket])
    assert [str(o) for o in third.sent] == [f"s3:{uri}"]
    assert client.head_object(Bucket=s3_bucket, Key=object_key)["LastModified"] == written_at


def test_s3_destination_outside_the_allowed_buckets_is_refused(fresh_engine, tmp_path, s3_endpoint, s3_bucket):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE], delivery_method="s3",
                s3_destination=f"s3://{s3_bucket}/finance/")
    summary = deliver_report(fresh_engine, store, None, generated_report_id=ids["report"], s3_client=client,
                             sender=SENDER, reply_to=None, allowed_buckets=["finance-drop"])
    assert not summary.sent and len(summary.failed) == 1
    assert "not an allowed delivery bucket" in str(summary.failed[0])
    assert "Contents" not in client.list_objects_v2(Bucket=s3_bucket)


def test_s3_destination_holding_a_different_object_fails(fresh_engine, tmp_path, s3_endpoint, s3_bucket):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[], delivery_method="s3", s3_destination=f"{s3_bucket}/out")
    object_key = f"out/{ids['org']}/2026/01/invoice_comparison-{ids['report']}.csv"
    client.put_object(Bucket=s3_bucket, Key=object_key, Body=b"someone else's file")
    summary = deliver_report(fresh_engine, store, None, generated_report_id=ids["report"], s3_client=client,
                             sender=SENDER, reply_to=None, allowed_buckets=[s3_bucket])
    assert [o.detail for o in summary.failed] == [f"a different object already exists at s3://{s3_bucket}/{object_key}"]
    assert client.get_object(Bucket=s3_bucket, Key=object_key)["Body"].read() == b"someone else's file"


def test_both_channels_and_bad_destination(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE], delivery_method="both", s3_destination="s3://Bad_Bucket")
    summary = deliver_report(fresh_engine, store, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                             sender=SENDER, reply_to=None, allowed_buckets=["finance-drop"])
    assert [str(o) for o in summary.sent] == ["email:alice@example.com"]
    assert [str(o) for o in summary.failed] == ["s3:s3://Bad_Bucket (invalid S3 destination bucket 'Bad_Bucket')"]
    assert len(smtp_server.messages) == 1


def test_on_demand_report_needs_explicit_recipients(fresh_engine, tmp_path):
    store = LocalStore(tmp_path / "reports")
    ids = _seed(fresh_engine, store, recipients=[], scheduled=False)
    mailer = OutboxMailer(tmp_path / "outbox")
    nothing = deliver_report(fresh_engine, store, mailer, generated_report_id=ids["report"], sender=SENDER,
                             reply_to=None)
    assert (nothing.sent, nothing.skipped, nothing.failed) == ([], [], [])
    summary = deliver_report(fresh_engine, store, mailer, generated_report_id=ids["report"], sender=SENDER,
                             reply_to=None, recipients=["dora@example.com"])
    assert [str(o) for o in summary.sent] == ["email:dora@example.com"]
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    assert b"To: dora@example.com" in eml.read_bytes()


def test_only_completed_reports_are_delivered(fresh_engine, tmp_path):
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE], status="processing")
    with pytest.raises(NotDeliverable, match="processing"):
        deliver_report(fresh_engine, store, OutboxMailer(tmp_path), generated_report_id=ids["report"],
                       sender=SENDER, reply_to=None)
    with pytest.raises(NotDeliverable, match="does not exist"):
        deliver_report(fresh_engine, store, OutboxMailer(tmp_path), generated_report_id=ids["report"] + 100,
                       sender=SENDER, reply_to=None)


def test_hostile_organization_name_is_escaped(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path)
    hostile = '<img src=x onerror=alert(1)> & "Co"\r\nBcc: evil@example.net'
    ids = _seed(fresh_engine, store, recipients=[ALICE], org_name=hostile)
    deliver_report(fresh_engine, store, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                   sender=SENDER, reply_to=None)
    [received] = smtp_server.received
    assert received.rcpt_tos == ["alice@example.com"] and received.message["Bcc"] is None
    html_part = received.message.get_body(("html",)).get_content()
    assert "<img" not in html_part
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot; Bcc: evil@example.net" in html_part


def test_email_through_ses_on_moto(fresh_engine, tmp_path, s3_endpoint):
    ses = boto3.client("ses", endpoint_url=s3_endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    ses.verify_email_identity(EmailAddress="reports@example.com")
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE, BOB])
    before = ses.get_send_quota()["SentLast24Hours"]
    summary = deliver_report(fresh_engine, store, SesMailer(ses), generated_report_id=ids["report"],
                             sender=SENDER, reply_to=None)
    assert len(summary.sent) == 2
    assert ses.get_send_quota()["SentLast24Hours"] == before + 2
    with fresh_engine.connect() as conn:
        provider_ids = [p for (p,) in conn.execute(sa.text("SELECT provider_message_id FROM report_delivery"))]
    assert len(provider_ids) == 2 and all(p and "@" not in p for p in provider_ids)


def test_failure_notice_sent_once_per_report_and_recipient(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE, BOB, {"email": "broken"}], status="failed",
                error="BillingPeriodNotFound: no billing_period for 2026-01")
    mailer = SmtpMailer(smtp_server.url)
    assert notify_failure(fresh_engine, mailer, generated_report_id=ids["report"], sender=SENDER,
                          reply_to=None) == 2
    assert notify_failure(fresh_engine, mailer, generated_report_id=ids["report"], sender=SENDER,
                          reply_to=None) == 0
    received = smtp_server.received
    assert [r.rcpt_tos for r in received] == [["alice@example.com"], ["Bob@Example.org"]]
    for r in received:
        assert r.message["Subject"] == "Scheduled report Monthly comparison failed"
        text = r.message.get_content()
        assert "BillingPeriodNotFound: no billing_period for 2026-01" in text and "January 2026" in text
    assert _deliveries(fresh_engine, ids["report"]) == [
        ("email", "failure-notice:alice@example.com", "sent", 1, False),
        ("email", "failure-notice:bob@example.org", "sent", 1, False),
        ("email", "failure-notice:broken", "failed", 2, True),
    ]
    assert _audit(fresh_engine, ids["report"]) == []


def test_concurrent_deliveries_send_each_message_once(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[ALICE, BOB, {"email": "carol@example.net"}])
    mailer = SmtpMailer(smtp_server.url)

    def run(_):
        return deliver_report(fresh_engine, store, mailer, generated_report_id=ids["report"], sender=SENDER,
                              reply_to=None)

    with ThreadPoolExecutor(max_workers=4) as pool:
        summaries = list(pool.map(run, range(4)))
    assert sum(len(s.sent) for s in summaries) == 3
    assert sum(len(s.skipped) for s in summaries) == 9
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == \
        ["Bob@Example.org", "alice@example.com", "carol@example.net"]


def test_file_over_the_default_limit_is_linked_only(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    from reporting_dagster.lib.delivery.mail import ATTACHMENT_LIMIT_BYTES

    assert ATTACHMENT_LIMIT_BYTES == 7 * 1024 * 1024
    store = LocalStore(tmp_path)
    big = b"x" * (7 * 1024 * 1024 + 1)
    ids = _seed(fresh_engine, store, recipients=[ALICE], data=big)
    summary = deliver_report(fresh_engine, store, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                             sender=SENDER, reply_to=None)
    assert len(summary.sent) == 1
    [message] = smtp_server.messages
    assert list(message.iter_attachments()) == []
    assert len(message.as_bytes()) < 10_000


def test_a_failure_notice_goes_out_whatever_the_rows_parameters_hold(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    """A row failed for 5,000-deep parameters still gets its owners' notice: delivery never hands
    the value to a JSON parser's recursion (lib/requests/parameters.py)."""
    ids = _seed(fresh_engine, LocalStore(tmp_path), recipients=[ALICE], status="failed",
                error="parameters is nested too deeply")
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET parameters = CAST(:p AS jsonb) WHERE id = :id"),
                     {"p": "[" * 5000 + "]" * 5000, "id": ids["report"]})
    assert notify_failure(fresh_engine, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                          sender=SENDER, reply_to=None) == 1
    [received] = smtp_server.received
    assert "parameters is nested too deeply" in received.message.get_content()


def test_a_schedule_error_notice_keeps_the_configured_recipient_cap(smtp_server):  # noqa: F811
    """REPORTS_DELIVERY_MAX_RECIPIENTS=2: the third owner gets no "cannot run" notice either."""
    from reporting_dagster.lib.delivery.deliver import notify_schedule_error
    from reporting_dagster.lib.delivery.policy import DeliveryPolicy

    schedule = {"name": "Monthly comparison", "organization_name": "Sunfield Energy",
                "recipients": [{"email": f"owner{i}@example.com"} for i in (1, 2, 3)]}
    sent = notify_schedule_error(SmtpMailer(smtp_server.url), schedule, error="unknown time zone 'Mars/Base'",
                                 sender=SENDER, reply_to=None, policy=DeliveryPolicy(max_recipients=2))
    assert sent == 2
    assert sorted(m["To"] for m in smtp_server.messages) == ["owner1@example.com", "owner2@example.com"]


def test_the_run_and_the_schedule_name_failures_with_one_wording():
    from reporting_dagster.lib.delivery.attempts import DeliveryOutcome, DeliverySummary, failure_list

    parts = [f"r{i}@example.com: refused" for i in range(1, 8)]
    assert failure_list("head", parts) == ("head: r1@example.com: refused; r2@example.com: refused; "
                                           "r3@example.com: refused; r4@example.com: refused; "
                                           "r5@example.com: refused; and 2 more")
    assert failure_list("head", parts[:1]) == "head: r1@example.com: refused"
    summary = DeliverySummary(1, failed=[DeliveryOutcome("email", "a@example.com", "refused")])
    assert summary.failure_text() == "delivery failed for 1 of 1 deliveries tried: a@example.com: refused (not retried)"
