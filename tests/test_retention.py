"""Retention: archive past expires_at, purge after 7 years, S3 lifecycle rules, the daily job.

Real PostgreSQL, the local folder store and moto's S3 server; expected values written by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import boto3
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from reporting_dagster.defs.maintenance.retention import install_s3_lifecycle_rules, report_retention
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase, S3ReportStore
from reporting_dagster.lib.operations import retention
from reporting_dagster.lib.infra.installation import installation_token
from reporting_dagster.lib.infra.store import LocalStore, S3Store, key_token, report_key

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 29, 3, 30, tzinfo=UTC)


def _one(engine, sql: str, **params):
    with engine.begin() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _org(engine, name: str) -> int:
    return _one(engine, "INSERT INTO organization (name) VALUES (:n) RETURNING id", n=name)


def _period(engine, year: int, month: int) -> int:
    start = dt.date(year, month, 1)
    end = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))
    return _one(engine, "INSERT INTO billing_period (name, start_date, end_date) VALUES (:n, :s, :e) RETURNING id",
                n=f"{start:%B %Y}", s=start, e=end)


def _report(engine, org: int, period: int | None, *, status: str = "completed", file_path: str | None = None,
            expires_at: dt.datetime | None = None, archived_at: dt.datetime | None = None,
            archived_path: str | None = None) -> int:
    return _one(engine, """
        INSERT INTO generated_report (organization_id, generation_source, report_type, name, report_status,
                                      billing_period_id, file_format, file_path, file_size_bytes, expires_at,
                                      archived_at, archived_path)
        VALUES (:org, 'scheduled', 'invoice_aging', 'Aging', CAST(:status AS report_status), :period, 'pdf',
                :file_path, 11, :expires_at, :archived_at, :archived_path)
        RETURNING id""", org=org, period=period, status=status, file_path=file_path, expires_at=expires_at,
                archived_at=archived_at, archived_path=archived_path)


def _row(engine, report_id: int):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT file_path, archived_at, archived_path FROM generated_report WHERE id = :i"),
                            {"i": report_id}).one()


def _client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")  # first: it sets the AWS variables the client needs
    return S3Store(_client(request.getfixturevalue("s3_endpoint")), bucket)


def _archived_bytes(store, key: str) -> bytes:
    """The archived object's bytes; a GLACIER object is restored first, as a person would."""
    if isinstance(store, S3Store):
        head = store.client.head_object(Bucket=store.bucket, Key=key)
        assert head["StorageClass"] == "GLACIER"
        store.client.restore_object(Bucket=store.bucket, Key=key, RestoreRequest={"Days": 1})
    return store.get(key)


def test_archive_moves_expired_files_and_leaves_everything_else(fresh_engine, store):
    alpha, beta = _org(fresh_engine, "Alpha"), _org(fresh_engine, "Beta")
    may = _period(fresh_engine, 2026, 5)
    old = NOW - dt.timedelta(days=1)

    def file(org, rid_hint, data=b"%PDF-report"):
        key = f"reports/{org}/2026/05/invoice_aging-{rid_hint}.pdf"
        store.put(key, data)
        return key

    expired = _report(fresh_engine, alpha, may, expires_at=old)  # key named after its own id
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET file_path = :p WHERE id = :i"),
                     {"p": file(alpha, expired), "i": expired})
    beta_expired = _report(fresh_engine, beta, may, expires_at=NOW, file_path=file(beta, "b1", b"beta-bytes"))
    not_yet = _report(fresh_engine, alpha, may, expires_at=NOW + dt.timedelta(seconds=1), file_path=file(alpha, "n1"))
    already = _report(fresh_engine, alpha, may, expires_at=old, file_path=file(alpha, "a1"),
                      archived_at=NOW - dt.timedelta(days=30), archived_path="archive/x/2026/a1.pdf")
    failed = _report(fresh_engine, alpha, may, status="failed", expires_at=old, file_path=file(alpha, "f1"))
    missing = _report(fresh_engine, alpha, may, expires_at=old, file_path="reports/%d/2026/05/invoice_aging-404.pdf" % alpha)
    foreign = _report(fresh_engine, alpha, may, expires_at=old, file_path=f"reports/{beta}/2026/05/invoice_aging-x.pdf")

    summary = retention.archive_expired(fresh_engine, store, now=NOW, batch=2)  # several pages

    assert summary.archived == [expired, beta_expired]
    assert summary.missing == [missing]
    assert list(summary.failed) == [foreign]
    assert f"belongs to organization {beta}" in summary.failed[foreign]

    alpha_key = f"archive/{alpha}/2026/05/invoice_aging-{expired}.pdf"
    assert not store.exists(f"reports/{alpha}/2026/05/invoice_aging-{expired}.pdf")
    assert _archived_bytes(store, alpha_key) == b"%PDF-report"
    assert _row(fresh_engine, expired) == (None, NOW, alpha_key)
    assert _archived_bytes(store, f"archive/{beta}/2026/05/invoice_aging-b1.pdf") == b"beta-bytes"
    assert not store.exists(f"reports/{beta}/2026/05/invoice_aging-b1.pdf")

    for untouched, name in ((not_yet, "n1"), (failed, "f1")):
        assert _row(fresh_engine, untouched) == (f"reports/{alpha}/2026/05/invoice_aging-{name}.pdf", None, None)
        assert store.exists(f"reports/{alpha}/2026/05/invoice_aging-{name}.pdf")
    assert _row(fresh_engine, already) == (f"reports/{alpha}/2026/05/invoice_aging-a1.pdf",
                                           NOW - dt.timedelta(days=30), "archive/x/2026/a1.pdf")
    assert store.exists(f"reports/{alpha}/2026/05/invoice_aging-a1.pdf")
    assert _row(fresh_engine, missing)[1] is None

    again = retention.archive_expired(fresh_engine, store, now=NOW)
    assert again.archived == [] and again.missing == [missing] and list(again.failed) == [foreign]
    assert _row(fresh_engine, expired) == (None, NOW, alpha_key)


def test_archive_finishes_a_move_interrupted_by_a_crash(fresh_engine, store):
    org = _org(fresh_engine, "Alpha")
    may = _period(fresh_engine, 2026, 5)
    old = NOW - dt.timedelta(days=1)
    # crash after the copy, before the delete: both objects exist
    both = _report(fresh_engine, org, may, expires_at=old, file_path=f"reports/{org}/2026/05/timesheet-1.csv")
    store.put(f"reports/{org}/2026/05/timesheet-1.csv", b"a,b\r\n")
    store.put(f"archive/{org}/2026/05/timesheet-1.csv", b"a,b\r\n")
    # crash after the delete, before the row update: only the archive exists
    moved = _report(fresh_engine, org, may, expires_at=old, file_path=f"reports/{org}/2026/05/timesheet-2.csv")
    store.put(f"archive/{org}/2026/05/timesheet-2.csv", b"c,d\r\n")

    summary = retention.archive_expired(fresh_engine, store, now=NOW)

    assert summary.archived == [both, moved] and summary.missing == [] and summary.failed == {}
    assert not store.exists(f"reports/{org}/2026/05/timesheet-1.csv")
    assert store.get(f"archive/{org}/2026/05/timesheet-1.csv") == b"a,b\r\n"
    assert _row(fresh_engine, moved) == (None, NOW, f"archive/{org}/2026/05/timesheet-2.csv")


def test_archive_moves_a_key_with_its_token_and_keeps_the_name(fresh_engine, store):
    org = _org(fresh_engine, "Alpha")
    may = _period(fresh_engine, 2026, 5)
    rid = _report(fresh_engine, org, may, expires_at=NOW - dt.timedelta(days=1))
    token = key_token(installation_token(fresh_engine), rid)
    key = report_key(org, dt.date(2026, 5, 1), "invoice_aging", rid, "pdf",
                     installation_token=installation_token(fresh_engine))
    assert key == f"reports/{org}/2026/05/invoice_aging-{rid}-{token}.pdf"
    _one(fresh_engine, "UPDATE generated_report SET file_path = :k WHERE id = :i RETURNING id", k=key, i=rid)
    store.put(key, b"%PDF-token")

    summary = retention.archive_expired(fresh_engine, store, now=NOW)

    archived = f"archive/{org}/2026/05/invoice_aging-{rid}-{token}.pdf"
    assert summary.archived == [rid] and summary.failed == {} and summary.missing == []
    assert _row(fresh_engine, rid) == (None, NOW, archived)
    assert not store.exists(key) and _archived_bytes(store, archived) == b"%PDF-token"


def test_store_archive_reports_sha256_and_refuses_nothing_twice(store):
    stored = store.put("reports/3/2026/01/x-1.json", b"{}")
    archived = store.archive("reports/3/2026/01/x-1.json", "archive/3/2026/01/x-1.json")
    assert archived.key == "archive/3/2026/01/x-1.json"
    assert archived.size == 2 and archived.sha256 == stored.sha256 == hashlib.sha256(b"{}").hexdigest()
    assert store.archive("reports/3/2026/01/x-1.json", "archive/3/2026/01/x-1.json").size == 2  # idempotent
    with pytest.raises(FileNotFoundError):
        store.archive("reports/3/2026/01/none.json", "archive/3/2026/01/none.json")
    assert store.delete("archive/3/2026/01/x-1.json") is True
    assert store.delete("archive/3/2026/01/x-1.json") is False


def test_archive_key_for_other_path_shapes():
    assert retention.archive_key(4, "reports/4/2025/12/timesheet-9-0a1b2c3d4e.xlsx", dt.date(2025, 12, 1), 9) == \
        "archive/4/2025/12/timesheet-9-0a1b2c3d4e.xlsx"
    assert retention.archive_key(4, "reports/4/2025/12/timesheet-9.xlsx", dt.date(2025, 12, 1), 9) == \
        "archive/4/2025/12/timesheet-9.xlsx"  # a key from before the token
    assert retention.archive_key(4, "legacy/monthly_report_20250101.pdf", dt.date(2024, 12, 1), 9) == \
        "archive/4/2024/9-monthly_report_20250101.pdf"
    with pytest.raises(ValueError):
        retention.archive_key(4, "reports/5/2025/12/timesheet-9.xlsx", dt.date(2025, 12, 1), 9)


def test_purge_deletes_archives_older_than_seven_years(fresh_engine, store):
    org = _org(fresh_engine, "Alpha")
    eight_years = dt.datetime(2018, 11, 1, tzinfo=UTC)
    six_years = dt.datetime(2020, 11, 1, tzinfo=UTC)
    old = _report(fresh_engine, org, None, archived_at=eight_years, archived_path=f"archive/{org}/2018/10/x-1.pdf")
    young = _report(fresh_engine, org, None, archived_at=six_years, archived_path=f"archive/{org}/2020/10/x-2.pdf")
    gone = _report(fresh_engine, org, None, archived_at=eight_years, archived_path=f"archive/{org}/2018/10/x-3.pdf")
    store.put(f"archive/{org}/2018/10/x-1.pdf", b"old")
    store.put(f"archive/{org}/2020/10/x-2.pdf", b"young")

    summary = retention.purge_archive(fresh_engine, store, now=NOW)

    assert summary.purged == [old] and summary.already_gone == [gone] and summary.failed == {}
    assert not store.exists(f"archive/{org}/2018/10/x-1.pdf")
    assert store.exists(f"archive/{org}/2020/10/x-2.pdf")
    assert _row(fresh_engine, old) == (None, eight_years, None)
    assert _row(fresh_engine, young) == (None, six_years, f"archive/{org}/2020/10/x-2.pdf")
    assert retention.purge_archive(fresh_engine, store, now=NOW).purged == []


def test_purge_sweeps_old_orphan_archive_objects_by_their_date(fresh_engine, tmp_path):
    store = LocalStore(tmp_path)
    store.put("archive/1/2018/10/orphan-old.pdf", b"x")
    store.put("archive/1/2025/10/orphan-new.pdf", b"y")
    store.put("reports/1/2018/10/live.pdf", b"z")  # reports/ is never swept
    eight_years_ago = dt.datetime(2018, 11, 1, tzinfo=UTC).timestamp()
    for key in ("archive/1/2018/10/orphan-old.pdf", "reports/1/2018/10/live.pdf"):
        os.utime(store.path(key), (eight_years_ago, eight_years_ago))

    summary = retention.purge_archive(fresh_engine, store, now=NOW)

    assert summary.orphans_deleted == ["archive/1/2018/10/orphan-old.pdf"]
    assert store.exists("archive/1/2025/10/orphan-new.pdf") and store.exists("reports/1/2018/10/live.pdf")


def test_retention_cutoff_is_calendar_years():
    assert retention.retention_cutoff(NOW) == dt.datetime(2019, 11, 29, 3, 30, tzinfo=UTC)
    assert retention.retention_cutoff(dt.datetime(2032, 2, 29, tzinfo=UTC)) == dt.datetime(2025, 2, 28, tzinfo=UTC)
    with pytest.raises(ValueError):
        retention.archive_expired(None, None, now=dt.datetime(2026, 1, 1))


def test_lifecycle_rules_document_the_policy():
    assert retention.s3_lifecycle_rules("/tenant-a/") == {"Rules": [
        {"ID": "reporting-dagster archive expiry tenant-a", "Status": "Enabled",
         "Filter": {"Prefix": "tenant-a/archive/"}, "Expiration": {"Days": 2557}},
        {"ID": "reporting-dagster intermediates expiry tenant-a", "Status": "Enabled",
         "Filter": {"Prefix": "tenant-a/dagster-io/"}, "Expiration": {"Days": 35}},
        {"ID": "reporting-dagster abort multipart tenant-a", "Status": "Enabled",
         "Filter": {"Prefix": "tenant-a/"}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]}
    assert retention.s3_lifecycle_rules("")["Rules"][0]["Filter"] == {"Prefix": "archive/"}


def test_lifecycle_rules_installed_on_the_bucket_keep_other_rules(s3_endpoint, s3_bucket):
    client = _client(s3_endpoint)
    other = {"ID": "someone-else", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}}
    client.put_bucket_lifecycle_configuration(Bucket=s3_bucket, LifecycleConfiguration={"Rules": [other]})

    retention.install_lifecycle_rules(client, s3_bucket, "tenant-a")
    retention.install_lifecycle_rules(client, s3_bucket, "tenant-a")  # again: replaced, not duplicated

    rules = {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=s3_bucket)["Rules"]}
    assert sorted(rules) == ["reporting-dagster abort multipart tenant-a",
                             "reporting-dagster archive expiry tenant-a",
                             "reporting-dagster intermediates expiry tenant-a", "someone-else"]
    assert rules["reporting-dagster intermediates expiry tenant-a"]["Expiration"] == {"Days": 35}
    assert rules["reporting-dagster archive expiry tenant-a"]["Expiration"] == {"Days": 2557}
    assert rules["reporting-dagster archive expiry tenant-a"]["Filter"] == {"Prefix": "tenant-a/archive/"}
    assert rules["reporting-dagster abort multipart tenant-a"]["AbortIncompleteMultipartUpload"] == \
        {"DaysAfterInitiation": 7}
    assert rules["someone-else"]["Expiration"] == {"Days": 30}


def _output_metadata(result, node: str) -> dict:
    for event in result.events_for_node(node):
        if event.event_type_value == "STEP_OUTPUT":
            return {k: v.value for k, v in event.event_specific_data.metadata.items()}
    raise AssertionError(f"no output from {node}")


def test_report_retention_job_runs_in_process(fresh_engine, fresh_url, tmp_path):
    org = _org(fresh_engine, "Alpha")
    may = _period(fresh_engine, 2026, 5)
    real_now = dt.datetime.now(UTC)
    store = LocalStore(tmp_path)
    key = f"reports/{org}/2026/05/invoice_aging-1.pdf"
    store.put(key, b"pdf")
    expired = _report(fresh_engine, org, may, expires_at=real_now - dt.timedelta(days=1), file_path=key)
    ancient = _report(fresh_engine, org, may, archived_at=real_now - dt.timedelta(days=8 * 365),
                      archived_path=f"archive/{org}/2018/01/x.pdf")
    store.put(f"archive/{org}/2018/01/x.pdf", b"old")

    result = report_retention.execute_in_process(resources={
        "platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
        "report_store": LocalReportStore(directory=str(tmp_path)),
    })

    assert result.success
    assert _row(fresh_engine, expired)[2] == f"archive/{org}/2026/05/invoice_aging-1.pdf"
    assert store.get(f"archive/{org}/2026/05/invoice_aging-1.pdf") == b"pdf"
    assert _row(fresh_engine, ancient)[2] is None and not store.exists(f"archive/{org}/2018/01/x.pdf")
    archived = _output_metadata(result, "archive_expired_reports")
    assert archived["archived"] == 1 and archived["missing_files"] == 0 and archived["archived_ids"] == [expired]
    assert _output_metadata(result, "purge_old_archives")["purged"] == 1


def test_install_lifecycle_job_on_s3_and_on_a_local_folder(s3_endpoint, s3_bucket, tmp_path):
    s3 = S3ReportStore(s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"), bucket=s3_bucket,
                       prefix="prod")
    result = install_s3_lifecycle_rules.execute_in_process(resources={"report_store": s3})
    assert result.success and _output_metadata(result, "put_s3_lifecycle_rules")["installed"] is True
    rules = _client(s3_endpoint).get_bucket_lifecycle_configuration(Bucket=s3_bucket)["Rules"]
    assert sorted(r["Filter"]["Prefix"] for r in rules) == ["prod/", "prod/archive/", "prod/dagster-io/"]

    local = install_s3_lifecycle_rules.execute_in_process(
        resources={"report_store": LocalReportStore(directory=str(tmp_path))})
    metadata = _output_metadata(local, "put_s3_lifecycle_rules")
    assert local.success and metadata["installed"] is False and "local folder" in metadata["message"]


def test_list_keys_gives_store_keys_under_a_prefix(s3_endpoint, s3_bucket, tmp_path):
    for store in (S3Store(_client(s3_endpoint), s3_bucket, "prod"), LocalStore(tmp_path)):
        store.put("archive/1/2020/01/a.pdf", b"a")
        store.put("archive/2/2021/02/b.pdf", b"b")
        store.put("reports/1/2026/01/c.pdf", b"c")
        listed = list(store.list_keys("archive/"))
        assert sorted(key for key, _ in listed) == ["archive/1/2020/01/a.pdf", "archive/2/2021/02/b.pdf"]
        assert all(modified.tzinfo is not None and modified.utcoffset() == dt.timedelta(0) for _, modified in listed)
