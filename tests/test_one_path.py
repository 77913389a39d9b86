"""The pack and a request for the same organization, month and template give the same files
(the generation timestamp aside): one report path, not two that drift apart."""

from __future__ import annotations

import datetime as dt
import json
import re

import dagster as dg
import sqlalchemy as sa

from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.lib.requests.run import run_request
from reporting_dagster.lib.infra.store import LocalStore
from tests.request_builders import RequestPlatform
from tests.test_assets import PARTITION, slice_assets, two_orgs  # noqa: F401 - two_orgs is a fixture

STAMP = "2026-11-01T06:00:00+00:00"


def _pack_file(engine, store_dir, org, fmt) -> bytes:
    with engine.connect() as conn:
        path = conn.execute(sa.text(
            "SELECT file_path FROM generated_report WHERE organization_id = :o AND file_format = CAST(:f AS file_format) "
            "AND report_status = 'completed' AND generation_source = 'scheduled' ORDER BY id LIMIT 1"),
            {"o": org, "f": fmt}).scalar_one()
    return (store_dir / path).read_bytes()


def _without_stamp(fmt: str, data: bytes):
    if fmt == "json":
        doc = json.loads(data)
        doc.pop("generated_at")
        return doc
    return re.sub(r"^# Generated: .*$", "# Generated: -", data.decode("utf-8-sig"), flags=re.M)


def test_the_pack_and_a_request_give_the_same_comparison_files(fresh_engine, fresh_url, two_orgs, tmp_path):  # noqa: F811
    helios = two_orgs["helios"]
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(tmp_path / "pack"))}
    with dg.instance_for_test() as instance:
        assert dg.materialize(slice_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                              run_config={"ops": {"invoice_comparison_report": {"config": {"generated_at": STAMP}}}}
                              ).success
    p = RequestPlatform(fresh_engine)
    read = resources["platform_db"].extract
    for fmt in ("csv", "json"):
        rid = p.request(helios, "invoice_comparison", fmt, parameters={"billing_period": PARTITION})
        outcome = run_request(fresh_engine, LocalStore(tmp_path / "req"), read, rid, run_id=f"run-{fmt}",
                              now=dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc))
        assert outcome.outcome == "completed", outcome.message
        request_file = (tmp_path / "req" / outcome.stored.key).read_bytes()
        assert _without_stamp(fmt, request_file) == _without_stamp(fmt, _pack_file(fresh_engine, tmp_path / "pack",
                                                                                   helios, fmt)), fmt
