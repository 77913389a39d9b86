"""Tenant boundaries of delivery: recipients per schedule, S3 buckets and prefixes, and the file
a row names (its own key, its recorded hash), against PostgreSQL, moto S3 and aiosmtpd."""

import boto3
import pytest
import sqlalchemy as sa

from reporting_dagster.lib.delivery.deliver import deliver_report
from reporting_dagster.lib.delivery.mail import SmtpMailer
from reporting_dagster.lib.delivery.outcome import record_outcome
from reporting_dagster.lib.delivery.policy import DeliveryPolicy
from reporting_dagster.lib.infra.store import LocalStore
from tests.delivery_builders import CSV, SENDER, Reports
from tests.smtp_server import smtp_server  # noqa: F401

ALICE = {"email": "alice@example.com"}
MISMATCH = "the stored file does not match the report's record ({}); regenerate the report"


@pytest.fixture
def world(fresh_engine, tmp_path):
    store = LocalStore(tmp_path / "store")
    return Reports(fresh_engine, store), store


def _deliver(engine, store, report_id, mailer=None, **kwargs):
    return deliver_report(engine, store, mailer, generated_report_id=report_id, sender=SENDER, reply_to=None,
                          **kwargs)


# --- recipients per schedule ----------------------------------------------------------------

def test_recipients_beyond_the_cap_are_refused_with_a_reason(fresh_engine, world, smtp_server):  # noqa: F811
    reports, store = world
    assert DeliveryPolicy().max_recipients == 50
    org = reports.org()
    people = [{"email": f"p{n}@example.com"} for n in range(1, 6)]
    schedule = reports.schedule(org, recipients=people)
    report = reports.report(org, schedule)
    mailer = SmtpMailer(smtp_server.url)
    summary = _deliver(fresh_engine, store, report["id"], mailer, policy=DeliveryPolicy(max_recipients=3))
    assert [o.recipient for o in summary.sent] == ["p1@example.com", "p2@example.com", "p3@example.com"]
    assert [o.recipient for o in summary.failed] == ["p4@example.com", "p5@example.com"]
    reason = ("over the recipient limit: the schedule lists 5 valid recipients and only the first 3 get the report "
              "(REPORTS_DELIVERY_MAX_RECIPIENTS)")
    assert [(d[1], d[2], d[4], d[5]) for d in reports.deliveries(report["id"])][3:] == [
        ("p4@example.com", "failed", reason, False), ("p5@example.com", "failed", reason, False)]
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == ["p1@example.com", "p2@example.com",
                                                                   "p3@example.com"]
    # the owners see it on the schedule
    record_outcome(fresh_engine, None, generated_report_id=report["id"], sender=SENDER, reply_to=None)
    error = reports.schedule_row(schedule)["last_run_error"]
    assert error.startswith(f"report made, delivery failed for 2 of 5 recipients: p4@example.com: {reason}")


def test_the_policy_comes_from_the_environment(monkeypatch):
    from reporting_dagster.defs.resources import delivery_policy_from_env

    for name in ("LEASE_SECONDS", "MAX_ATTEMPTS", "RETRY_BASE_SECONDS", "MAX_RECIPIENTS"):
        monkeypatch.delenv(f"REPORTS_DELIVERY_{name}", raising=False)
    assert delivery_policy_from_env() == DeliveryPolicy(600, 120, 5, 300, 50)
    monkeypatch.setenv("REPORTS_DELIVERY_MAX_RECIPIENTS", "200")
    monkeypatch.setenv("REPORTS_DELIVERY_LEASE_SECONDS", "900")
    assert (delivery_policy_from_env().max_recipients, delivery_policy_from_env().lease_seconds) == (200, 900)
    monkeypatch.setenv("REPORTS_DELIVERY_MAX_RECIPIENTS", "lots")
    with pytest.raises(ValueError, match="REPORTS_DELIVERY_MAX_RECIPIENTS='lots' is not a whole number of at least 1"):
        delivery_policy_from_env()
    monkeypatch.setenv("REPORTS_DELIVERY_MAX_RECIPIENTS", "0")
    with pytest.raises(ValueError, match="at least 1"):
        delivery_policy_from_env()


# --- S3 buckets and prefixes ----------------------------------------------------------------

@pytest.mark.parametrize("case", ["no allow-list", "bucket not allowed", "another org's prefix",
                                  "another org's store layout", "own"])
def test_s3_delivery_only_to_allowed_buckets_under_the_organizations_prefix(case, fresh_engine, world,
                                                                          s3_endpoint, s3_bucket):
    reports, store = world
    mine, other = reports.org("Sunfield Energy"), reports.org("Other Co")
    assert (mine, other) == (1, 2)
    prefix = {"another org's prefix": "finance/2", "another org's store layout": "reports/2/2026"}.get(case, "finance")
    schedule = reports.schedule(mine, recipients=[], delivery_method="s3", s3_destination=f"s3://{s3_bucket}/{prefix}")
    report = reports.report(mine, schedule)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    allowed = {"no allow-list": None, "bucket not allowed": ["finance-drop"]}.get(case, [s3_bucket])
    summary = _deliver(fresh_engine, store, report["id"], s3_client=client, allowed_buckets=allowed)
    listed = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    name = report["key"].rsplit("/", 1)[-1]
    if case == "own":
        key = f"finance/1/2026/01/{name}"
        assert [o.recipient for o in summary.sent] == [f"s3://{s3_bucket}/{key}"] and listed == [key]
        assert client.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == CSV
        return
    expected = {
        "no allow-list": "S3 delivery is off: set REPORTS_S3_DELIVERY_BUCKETS to the comma-separated buckets "
                         "schedules may deliver to",
        "bucket not allowed": f"bucket '{s3_bucket}' is not an allowed delivery bucket (REPORTS_S3_DELIVERY_BUCKETS)",
        "another org's prefix": "the s3_destination prefix 'finance/2' holds the number '2': number segments name "
                                "organizations and this schedule is organization 1's; copies always go under "
                                "<prefix>/1/, so name the prefix without another organization's id",
        "another org's store layout": "the s3_destination prefix 'reports/2/2026' holds the number '2': number "
                                      "segments name organizations and this schedule is organization 1's; copies "
                                      "always go under <prefix>/1/, so name the prefix without another "
                                      "organization's id",
    }[case]
    assert summary.sent == [] and [o.detail for o in summary.failed] == [expected] and listed == []
    assert reports.deliveries(report["id"]) == [("s3", f"s3://{s3_bucket}/{prefix}", "failed", 1, expected, False)]


def test_the_organizations_own_id_may_appear_in_the_prefix(fresh_engine, world, s3_endpoint, s3_bucket):
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[], delivery_method="s3",
                                                  s3_destination=f"{s3_bucket}/clients/{org}"))
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    summary = _deliver(fresh_engine, store, report["id"], s3_client=client, allowed_buckets=[s3_bucket])
    assert [o.recipient for o in summary.sent] == \
        [f"s3://{s3_bucket}/clients/{org}/{org}/2026/01/{report['key'].rsplit('/', 1)[-1]}"]


# --- the file a row names -------------------------------------------------------------------

def test_another_organizations_file_is_never_sent(fresh_engine, world, smtp_server):  # noqa: F811
    reports, store = world
    mine, other = reports.org("Sunfield Energy"), reports.org("Other Co")
    report = reports.report(mine, reports.schedule(mine, recipients=[ALICE]))
    theirs = reports.report(other, data=b"other organization's numbers\r\n")
    with fresh_engine.begin() as conn:  # the row now names organization 2's file, hash and size included
        conn.execute(sa.text(
            "UPDATE generated_report g SET file_path = o.file_path, file_hash = o.file_hash, "
            "file_size_bytes = o.file_size_bytes FROM generated_report o WHERE g.id = :mine AND o.id = :theirs"),
            {"mine": report["id"], "theirs": theirs["id"]})
    summary = _deliver(fresh_engine, store, report["id"], SmtpMailer(smtp_server.url))
    reason = MISMATCH.format("its file_path is not a key this report writes")
    assert summary.sent == [] and [o.detail for o in summary.failed] == [reason]
    assert reports.deliveries(report["id"]) == [("email", "alice@example.com", "failed", 1, reason, False)]
    assert smtp_server.received == []


def test_a_key_of_the_same_organization_but_another_report_is_refused(fresh_engine, world, smtp_server):  # noqa: F811
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE]))
    sibling = reports.report(org, data=b"another report of the same organization\r\n")
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report g SET file_path = o.file_path, file_hash = o.file_hash, "
                             "file_size_bytes = o.file_size_bytes FROM generated_report o "
                             "WHERE g.id = :a AND o.id = :b"), {"a": report["id"], "b": sibling["id"]})
    summary = _deliver(fresh_engine, store, report["id"], SmtpMailer(smtp_server.url))
    assert [o.detail for o in summary.failed] == [MISMATCH.format("its file_path is not a key this report writes")]
    assert smtp_server.received == []


def test_altered_bytes_are_never_sent(fresh_engine, world, smtp_server):  # noqa: F811
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE]))
    store.path(report["key"]).write_bytes(CSV.replace(b"-160.00", b"-999.00"))  # same size, other bytes
    summary = _deliver(fresh_engine, store, report["id"], SmtpMailer(smtp_server.url))
    assert [o.detail for o in summary.failed] == [MISMATCH.format("its sha256 is not the recorded file_hash")]
    assert smtp_server.received == []


def test_a_deleted_file_fails_clearly(fresh_engine, world, smtp_server):  # noqa: F811
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE, {"email": "bob@example.org"}]))
    store.path(report["key"]).unlink()
    summary = _deliver(fresh_engine, store, report["id"], SmtpMailer(smtp_server.url))
    reason = f"the report file {report['key']} is missing from the store; regenerate the report"
    assert [o.detail for o in summary.failed] == [reason, reason]
    assert all(d[5] is False for d in reports.deliveries(report["id"]))  # not retried: it will not come back
    assert smtp_server.received == []


def test_the_rows_own_file_is_sent_and_only_after_it_was_checked(fresh_engine, world, smtp_server):  # noqa: F811
    reports, store = world
    org = reports.org()
    report = reports.report(org, reports.schedule(org, recipients=[ALICE]))
    summary = _deliver(fresh_engine, store, report["id"], SmtpMailer(smtp_server.url), attachment_limit=1)
    assert [o.recipient for o in summary.sent] == ["alice@example.com"]  # link only, checked all the same
    store.path(report["key"]).write_bytes(b"changed")
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM report_delivery"))
    summary = _deliver(fresh_engine, store, report["id"], SmtpMailer(smtp_server.url), attachment_limit=1)
    assert [o.detail for o in summary.failed] == [MISMATCH.format("its sha256 is not the recorded file_hash")]
    assert len(smtp_server.received) == 1
