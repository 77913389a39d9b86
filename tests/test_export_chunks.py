"""An export cut into chunks of organizations: a failed file fails its own chunk's step, and
re-executing the run from failure runs that chunk alone (its completed files kept) and the collect.

Three organizations, chunks of two: [Helios, Canary] and [Quiet] (no rows: "no data" files). The
store refuses the canary's files; after the outage only the canary's five files are written again.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import sqlalchemy as sa

from reporting_dagster.defs.resources import PlatformDatabase
from tests.builders import Platform
from tests.test_assets import PARTITION, slice_assets, two_orgs  # noqa: F401 - two_orgs is a fixture
from tests.test_pack_retries import FlakyReportStore

PLAN, CHUNK, COLLECT = (f"invoice_comparison_report.invoice_comparison_{op}" for op in ("chunks", "chunk", "files"))


def chunked_pack_job():
    """test_pack_retries's job, under a name of its own: a reconstructed job is cached per
    function for the process, and this one's resources come from this test's environment."""
    import os

    defs = dg.Definitions(
        assets=slice_assets(),
        jobs=[dg.define_asset_job("chunked_pack", selection=dg.AssetSelection.all(),
                                  executor_def=dg.in_process_executor)],
        resources={"platform_db": PlatformDatabase(url=os.environ["PACK_TEST_DB_URL"]),
                   "report_store": FlakyReportStore(directory=os.environ["PACK_TEST_STORE"],
                                                    marker=os.environ["PACK_TEST_MARKER"])},
    )
    return defs.resolve_job_def("chunked_pack")


def _rows(engine):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, report_status::text, organization_id, file_path FROM generated_report ORDER BY id")).all()]


def test_a_failed_chunk_is_re_executed_alone(fresh_engine, fresh_url, two_orgs, tmp_path, monkeypatch):  # noqa: F811
    helios, canary = two_orgs["helios"], two_orgs["canary"]
    quiet = Platform(fresh_engine).org("Quiet Org", dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc))
    assert helios < canary < quiet
    marker = tmp_path / "outage"
    marker.write_text(str(canary))
    monkeypatch.setenv("PACK_TEST_DB_URL", fresh_url.render_as_string(hide_password=False))
    monkeypatch.setenv("PACK_TEST_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("PACK_TEST_MARKER", str(marker))
    monkeypatch.setenv("REPORTS_EXPORT_CHUNK_ORGANIZATIONS", "2")
    job = dg.reconstructable(chunked_pack_job)
    first_chunk, second_chunk = f"{CHUNK}[orgs_{helios}_to_{canary}]", f"{CHUNK}[orgs_{quiet}_to_{quiet}]"
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        with dg.execute_job(job, instance, tags={"dagster/partition": PARTITION}) as first:
            assert not first.success
            ok = {e.step_key for e in first.all_events if e.is_step_success}
            [failure] = [e for e in first.all_events if e.is_step_failure]
            listed = failure.step_failure_data.user_failure_data.metadata["failed"].value
        assert {PLAN, second_chunk} <= ok and failure.step_key == first_chunk and COLLECT not in ok
        assert len(listed) == 5 and {f["format"] for f in listed} == {"pdf", "csv", "xlsx", "json", "html"}
        before = _rows(fresh_engine)
        # Helios and Quiet completed (10), the canary's five failed
        assert sorted((r[2], r[1]) for r in before) == sorted(
            [(helios, "completed")] * 5 + [(quiet, "completed")] * 5 + [(canary, "failed")] * 5)
        marker.unlink()  # the outage is over
        options = dg.ReexecutionOptions.from_failure(first.run_id, instance)
        with dg.execute_job(job, instance, reexecution_options=options, tags={"dagster/partition": PARTITION}) as second:
            assert second.success
            ran = {e.step_key for e in second.all_events if e.is_step_success}
            [materialized] = [e for e in second.all_events if e.is_step_materialization]
    assert ran == {first_chunk, COLLECT}  # not the plan, not the other chunk, no data step
    after = _rows(fresh_engine)
    assert after[:len(before)] == before  # nothing completed earlier was touched
    assert sorted((r[2], r[1]) for r in after[len(before):]) == [(canary, "completed")] * 5
    meta = materialized.event_specific_data.materialization.metadata
    # the materialization counts what this run wrote or kept: the re-executed chunk and the one done before
    assert (meta["organizations"].value, meta["files"].value, meta["chunks"].value) == (3, 15, 2)
    assert len([f for f in (tmp_path / "store").rglob("*") if f.is_file()]) == 15
