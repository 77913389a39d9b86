"""The report store: local folder and S3 (against moto's server), one interface, written once."""

import datetime as dt
import hashlib
import re
import urllib.request

import boto3
import pytest

from reporting_dagster.defs.resources import LocalReportStore, S3ReportStore, report_store_from_env
from reporting_dagster.lib.infra.store import LocalStore, ObjectExists, S3Store, key_token, report_key


def test_report_key_is_built_from_ids_only():
    token = hashlib.sha256(b"0123456789abcdef0123456789abcdef:123").hexdigest()[:10]
    key = report_key(7, dt.date(2026, 10, 1), "invoice_comparison", 123, "pdf",
                     installation_token="0123456789abcdef0123456789abcdef")
    assert key == f"reports/7/2026/10/invoice_comparison-123-{token}.pdf"
    assert re.fullmatch(r"reports/7/2026/10/invoice_comparison-123-[0-9a-f]{10}\.pdf", key)


def test_key_token_is_stable_per_row_and_differs_across_databases():
    assert key_token("db-a", 5) == key_token("db-a", 5)  # a retry builds the same key
    assert key_token("db-a", 5) != key_token("db-b", 5)  # same id, another database
    assert key_token("db-a", 5) != key_token("db-a", 6)
    with pytest.raises(ValueError):
        key_token("", 5)


@pytest.mark.parametrize("report_type, ext", [("../x", "pdf"), ("Invoice Comparison", "pdf"),
                                              ("invoice_comparison", "pdf/x"), ("timesheet", "")])
def test_report_key_refuses_anything_but_identifier_parts(report_type, ext):
    with pytest.raises(ValueError):
        report_key(7, dt.date(2026, 10, 1), report_type, 1, ext, installation_token="t")


def _exercise(store):
    stored = store.put("reports/1/2026/10/x-1.csv", b"a,b\r\n", "text/csv")
    assert stored.size == 5 and stored.sha256 == hashlib.sha256(b"a,b\r\n").hexdigest()
    assert store.exists("reports/1/2026/10/x-1.csv") and not store.exists("reports/1/2026/10/x-2.csv")
    assert store.get("reports/1/2026/10/x-1.csv") == b"a,b\r\n"
    with pytest.raises(ObjectExists):
        store.put("reports/1/2026/10/x-1.csv", b"other")
    assert store.get("reports/1/2026/10/x-1.csv") == b"a,b\r\n"  # not overwritten
    with pytest.raises(ValueError):
        store.put("reports/../../etc/passwd", b"x")
    return stored


def test_local_store_writes_once(tmp_path):
    store = LocalStore(tmp_path)
    stored = _exercise(store)
    assert stored.uri.startswith("file://")
    assert not [p for p in tmp_path.rglob(".incoming-*")]  # no temporary files left behind


def test_s3_store_writes_once_and_presigns(s3_endpoint, s3_bucket):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    store = S3Store(client, s3_bucket, prefix="tenant-a/")
    stored = _exercise(store)
    assert stored.uri == f"s3://{s3_bucket}/tenant-a/reports/1/2026/10/x-1.csv"
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == ["tenant-a/reports/1/2026/10/x-1.csv"]
    with urllib.request.urlopen(store.url("reports/1/2026/10/x-1.csv", expires_in=60)) as resp:
        assert resp.read() == b"a,b\r\n"


def test_store_resource_follows_the_environment(monkeypatch, tmp_path, s3_endpoint, s3_bucket):
    monkeypatch.delenv("REPORTS_S3_BUCKET", raising=False)
    monkeypatch.setenv("REPORTS_LOCAL_DIR", str(tmp_path))
    local = report_store_from_env()
    assert isinstance(local, LocalReportStore) and local.directory == str(tmp_path)

    monkeypatch.setenv("REPORTS_S3_BUCKET", s3_bucket)
    monkeypatch.setenv("REPORTS_S3_PREFIX", "pfx")
    monkeypatch.setenv("REPORTS_S3_ENDPOINT_URL", s3_endpoint)
    remote = report_store_from_env()
    assert isinstance(remote, S3ReportStore)
    import dagster as dg

    with dg.build_resources({"report_store": remote}) as resources:
        stored = resources.report_store.store().put("reports/2/2026/10/y-9.json", b"{}")
    assert stored.uri == f"s3://{s3_bucket}/pfx/reports/2/2026/10/y-9.json"
