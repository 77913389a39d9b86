"""The pack under faults: a lost PUT answer (the object landed, the reply did not) is resolved by
reading the object back — no failed row, no orphan object."""

from __future__ import annotations

import hashlib

import dagster as dg
import pytest
import sqlalchemy as sa

from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.lib.infra.store import LocalStore, ObjectExists, put_verified
from tests.test_assets import PARTITION, slice_assets, two_orgs  # noqa: F401 - two_orgs is a fixture


class LostAnswerStore(LocalStore):
    """Every put lands, then its answer is lost (a connection reset after the upload)."""

    def put(self, key, data, content_type="application/octet-stream", **named):
        super().put(key, data, content_type, **named)
        raise ConnectionError("connection reset by peer after upload")


class LostAnswerReportStore(LocalReportStore):
    def store(self):
        return LostAnswerStore(self.directory)


def test_a_lost_put_answer_in_the_pack_leaves_no_failed_row_and_no_orphan(fresh_engine, fresh_url, two_orgs,  # noqa: F811
                                                                           tmp_path):
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LostAnswerReportStore(directory=str(tmp_path))}
    with dg.instance_for_test() as instance:
        assert dg.materialize(slice_assets(), partition_key=PARTITION, resources=resources, instance=instance).success
    with fresh_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT report_status::text, file_path, file_hash FROM generated_report")).all()
    files = {str(f.relative_to(tmp_path)): f.read_bytes() for f in tmp_path.rglob("*") if f.is_file()}
    assert len(rows) == 10 and {r[0] for r in rows} == {"completed"}
    assert {r[1] for r in rows} == set(files)  # every object has its row, every row its object
    assert all(hashlib.sha256(files[r[1]]).hexdigest() == r[2] for r in rows)


def test_other_bytes_under_the_key_still_fail(tmp_path):
    store = LocalStore(tmp_path)
    store.put("reports/1/2026/10/x-1-abc.csv", b"first", "text/csv")
    with pytest.raises(ObjectExists):  # a different object under the key is never taken as ours
        put_verified(store, "reports/1/2026/10/x-1-abc.csv", b"second", "text/csv")
    assert put_verified(store, "reports/1/2026/10/x-1-abc.csv", b"first", "text/csv").size == 5


# --- re-execution from failure: a reconstructable job whose resources come from the environment ---

class FlakyReportStore(LocalReportStore):
    """Fails every put for one organization while the marker file exists (a store outage for it)."""

    marker: str

    def store(self):
        marker, directory = self.marker, self.directory

        class _Flaky(LocalStore):
            def put(self, key, data, content_type="application/octet-stream", **named):
                import os

                if os.path.exists(marker) and key.startswith(f"reports/{open(marker).read().strip()}/"):
                    raise ConnectionError("store unavailable")
                return super().put(key, data, content_type, **named)

        return _Flaky(directory)


def comparison_pack_job():
    import os

    defs = dg.Definitions(
        assets=slice_assets(),
        jobs=[dg.define_asset_job("comparison_pack", selection=dg.AssetSelection.all(),
                                  executor_def=dg.in_process_executor)],
        resources={"platform_db": PlatformDatabase(url=os.environ["PACK_TEST_DB_URL"]),
                   "report_store": FlakyReportStore(directory=os.environ["PACK_TEST_STORE"],
                                                    marker=os.environ["PACK_TEST_MARKER"])},
    )
    return defs.resolve_job_def("comparison_pack")


def test_re_executing_a_failed_pack_step_redoes_only_the_failed_files(fresh_engine, fresh_url, two_orgs,  # noqa: F811
                                                                        tmp_path, monkeypatch):
    marker = tmp_path / "outage"
    marker.write_text(str(two_orgs["canary"]))  # the canary organization's files cannot be stored
    monkeypatch.setenv("PACK_TEST_DB_URL", fresh_url.render_as_string(hide_password=False))
    monkeypatch.setenv("PACK_TEST_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("PACK_TEST_MARKER", str(marker))
    job = dg.reconstructable(comparison_pack_job)
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        with dg.execute_job(job, instance, tags={"dagster/partition": PARTITION}) as first:
            assert not first.success
        rows = _rows(fresh_engine)
        assert sorted(r[1] for r in rows) == ["completed"] * 5 + ["failed"] * 5
        kept = {r[0]: r for r in rows if r[1] == "completed"}
        marker.unlink()  # the outage is over
        options = dg.ReexecutionOptions.from_failure(first.run_id, instance)
        with dg.execute_job(job, instance, reexecution_options=options, tags={"dagster/partition": PARTITION}) as second:
            assert second.success
            assert second.dagster_run.parent_run_id == first.run_id
    rows = _rows(fresh_engine)
    # five new rows, for the canary's five formats only; the five completed ones untouched
    assert len(rows) == 15 and sum(r[1] == "completed" for r in rows) == 10
    assert {r[0]: r for r in rows if r[0] in kept} == kept
    assert {r[2] for r in rows if r[1] == "completed" and r[0] not in kept} == {two_orgs["canary"]}
    files = [f for f in (tmp_path / "store").rglob("*") if f.is_file()]
    assert len(files) == 10


def _rows(engine):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, report_status::text, organization_id, file_path FROM generated_report ORDER BY id")).all()]
