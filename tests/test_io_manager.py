"""Intermediates live in shared storage: an export re-materialized on a second Dagster instance
that shares nothing with the first but the S3 server (moto) loads its inputs from S3."""

from __future__ import annotations

import boto3
import dagster as dg
from dagster_aws.s3 import S3PickleIOManager, S3Resource

from reporting_dagster.defs.exports.invoice_comparison_report import invoice_comparison_report
from reporting_dagster.defs.resources import PlatformDatabase, S3ReportStore, io_manager_from_env
from tests.test_assets import PARTITION, _rows, slice_assets, two_orgs  # noqa: F401 - two_orgs is a fixture

STAMP = {"ops": {"invoice_comparison_report": {"config": {"generated_at": "2026-11-01T06:00:00+00:00"}}}}


def _resources(fresh_url, s3_endpoint, bucket):
    s3 = S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1")
    return {
        "platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
        "report_store": S3ReportStore(s3=s3, bucket=bucket, prefix="prod"),
        "io_manager": S3PickleIOManager(s3_resource=s3, s3_bucket=bucket, s3_prefix="prod/dagster-io"),
    }


def test_an_export_rematerialized_on_a_second_instance_loads_its_inputs_from_s3(
        fresh_engine, fresh_url, two_orgs, s3_endpoint, s3_bucket, tmp_path):  # noqa: F811
    resources = _resources(fresh_url, s3_endpoint, s3_bucket)
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "first")) as first:
        assert dg.materialize(slice_assets(), partition_key=PARTITION, resources=resources, instance=first,
                              run_config=STAMP).success
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
            .list_objects_v2(Bucket=s3_bucket, Prefix="prod/dagster-io/")["Contents"]]
    assert any("invoice_comparison" in k and k.endswith(PARTITION) for k in keys), keys
    before = len(_rows(fresh_engine))

    # another instance, another folder: only the S3 server (and the platform database) in common
    with dg.instance_for_test(temp_dir=str(tmp_path / "second")) as second:
        result = dg.materialize(slice_assets(), selection=[invoice_comparison_report], partition_key=PARTITION,
                                resources=resources, instance=second, run_config=STAMP)
        assert result.success
        assert [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()] == \
            ["invoice_comparison_report"]
    rows = _rows(fresh_engine)
    assert len(rows) == 2 * before and all(r["status"] == "completed" for r in rows[before:])


def test_the_io_manager_follows_the_store(monkeypatch, tmp_path):
    monkeypatch.delenv("REPORTS_S3_BUCKET", raising=False)
    monkeypatch.setenv("REPORTING_STATE_DIR", str(tmp_path))
    local = io_manager_from_env()
    assert isinstance(local, dg.FilesystemIOManager) and local.base_dir == str(tmp_path / "dagster-io")
    monkeypatch.setenv("REPORTS_S3_BUCKET", "acme-reports")
    monkeypatch.setenv("REPORTS_S3_PREFIX", "/prod/")
    remote = io_manager_from_env()
    assert isinstance(remote, S3PickleIOManager) and remote.s3_prefix == "prod/dagster-io"
