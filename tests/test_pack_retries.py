"""The pack under faults: a lost PUT answer (the object landed, the reply did not) is resolved by
reading the object back — no failed row, no orphan object."""

from __future__ import annotations

import hashlib

import dagster as dg
import pytest
import sqlalchemy as sa

from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.lib.store import LocalStore, ObjectExists, put_verified
from tests.test_assets import PARTITION, slice_assets, two_orgs  # noqa: F401 - two_orgs is a fixture


class LostAnswerStore(LocalStore):
    """Every put lands, then its answer is lost (a connection reset after the upload)."""

    def put(self, key, data, content_type="application/octet-stream"):
        super().put(key, data, content_type)
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
