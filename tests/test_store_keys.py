"""Store keys that never collide: two databases with the same generated_report ids share one store.

Database A is a clone of the session's migrated template; database B is migrated from empty, as
a staging database rebuilt from scratch would be. Both start their id sequences at 1, so their
rows have the same ids; only their installation tokens differ.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import boto3
import pytest
import sqlalchemy as sa

from reporting_dagster import cli
from reporting_dagster.lib.delivery.verify import key_problem
from reporting_dagster.lib.infra import db, installation, migrate
from reporting_dagster.lib.operations import export as exporter
from reporting_dagster.lib.infra.installation import InstallationTokenMissing, installation_token
from reporting_dagster.lib.infra.paths import read_sql
from reporting_dagster.lib.requests.run import run_request
from reporting_dagster.lib.infra.store import LocalStore, S3Store, Store, report_key
from tests.request_builders import time_world
from tests.test_render_formats import make_document

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
TOKEN_KEY = re.compile(r"^reports/(\d+)/2026/10/([a-z_]+)-(\d+)-([0-9a-f]{10})(?:-c\d{16})?\.([a-z]+)$")


def _read(engine):
    return lambda name, **params: db.read_frame(engine, read_sql(name), params)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> Store:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")  # first: it sets the AWS variables the client needs
    client = boto3.client("s3", endpoint_url=request.getfixturevalue("s3_endpoint"), region_name="us-east-1")
    return S3Store(client, bucket, prefix="shared")


@pytest.fixture
def rebuilt_engine(empty_database_url):
    """A second database, migrated from nothing: its own token, ids from 1 again."""
    engine = db.create_engine(empty_database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT id, report_status::text AS status, file_path, file_hash FROM generated_report ORDER BY id"
        )).mappings()]


def _write_month_and_request(engine, store: Store, organization_name: str) -> list[dict]:
    """The monthly pack's path (exporter) for two formats, then an on-demand JSON request."""
    world = time_world(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE organization SET name = :n WHERE id = :id"),
                     {"n": organization_name, "id": world["helios"]})
    doc = make_document(organization_id=world["helios"], organization_name=organization_name)
    files = exporter.export(engine, store, doc, billing_period_id=None, formats=("csv", "json"), template_id=None,
                            dagster_run_id="run-pack")
    assert [f.error for f in files] == [None, None]
    rid = world["p"].request(world["helios"], "timesheet", "json")
    outcome = run_request(engine, store, _read(engine), rid, run_id="run-request", now=NOW)
    assert outcome.outcome == "completed", outcome.message
    return _rows(engine)


def test_two_databases_with_the_same_ids_write_distinct_objects_into_one_store(fresh_engine, rebuilt_engine, store):
    assert installation_token(fresh_engine) != installation_token(rebuilt_engine)
    production = _write_month_and_request(fresh_engine, store, "Helios Energy")
    staging = _write_month_and_request(rebuilt_engine, store, "Helios Energy (staging)")

    # the collision this guards against: same ids, same organization id, same types and period
    assert [r["id"] for r in production] == [r["id"] for r in staging] == [1, 2, 3]
    assert {r["status"] for r in production + staging} == {"completed"}
    for prod, stag in zip(production, staging):
        p, s = TOKEN_KEY.match(prod["file_path"]), TOKEN_KEY.match(stag["file_path"])
        assert p and s and p.groups()[:3] == s.groups()[:3] == (p.group(1), p.group(2), str(prod["id"]))
        assert p.group(4) != s.group(4)  # only the token tells them apart

    # each row points at its own object, with its own database's content
    for rows, name in ((production, "Helios Energy"), (staging, "Helios Energy (staging)")):
        for r in rows:
            data = store.get(r["file_path"])
            assert hashlib.sha256(data).hexdigest() == r["file_hash"]
            if r["file_path"].endswith(".json"):
                assert json.loads(data)["organization"]["name"] == name


def test_keys_of_a_database_are_built_from_its_token_and_ids_only(fresh_engine, tmp_path):
    rows = _write_month_and_request(fresh_engine, LocalStore(tmp_path), "Helios Energy")
    token = installation_token(fresh_engine)
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    types = {1: ("invoice_comparison", "csv"), 2: ("invoice_comparison", "json"), 3: ("timesheet", "json")}
    with fresh_engine.connect() as conn:
        micros = dict(conn.execute(sa.text(
            "SELECT id, CAST(EXTRACT(EPOCH FROM created_at) * 1000000 AS BIGINT) FROM generated_report")).all())
        claims = dict(conn.execute(sa.text(  # a request's attempt: when it was claimed (pack files: none)
            "SELECT id, CAST(EXTRACT(EPOCH FROM processing_started_at) * 1000000 AS BIGINT) FROM generated_report "
            "WHERE dagster_run_id = 'run-request'")).all())
    assert list(claims) == [3]
    for r in rows:
        report_type, ext = types[r["id"]]
        digest = hashlib.sha256(f"{token}:{r['id']}:{micros[r['id']]}".encode()).hexdigest()
        claim = f"-c{claims[r['id']]}" if r["id"] in claims else ""
        assert r["file_path"] == f"reports/1/2026/10/{report_type}-{r['id']}-{digest[:10]}{claim}.{ext}"


def test_a_restored_copy_with_the_same_token_and_ids_does_not_collide(fresh_engine, server_url, template_database,
                                                                       tmp_path):
    """Two clones of one database (a dump restored as staging): same token, same ids; the rows they
    create afterwards are created at other microseconds, so their keys differ."""
    import uuid as _uuid

    name = f"rd_clone_{_uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    clone = db.create_engine(server_url.set(database=name))
    try:
        assert installation_token(clone) == installation_token(fresh_engine)
        store = LocalStore(tmp_path)
        first = _write_month_and_request(fresh_engine, store, "Helios Energy")
        second = _write_month_and_request(clone, store, "Helios Staging")
        assert [r["id"] for r in first] == [r["id"] for r in second]
        assert not {r["file_path"] for r in first} & {r["file_path"] for r in second}
        for r in second:
            assert r["status"] == "completed"
    finally:
        clone.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class LostResponseStore(LocalStore):
    """Writes the object, then loses the answer (a dropped connection after the PUT landed)."""

    def put(self, key, data, content_type="application/octet-stream", **named):
        super().put(key, data, content_type, **named)
        raise ConnectionError("connection reset after upload")


def test_a_retried_request_adopts_the_object_its_earlier_attempt_wrote(fresh_engine, fresh_url, tmp_path):
    world = time_world(fresh_engine)
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "json")
    first = run_request(fresh_engine, LostResponseStore(tmp_path), _read(fresh_engine), rid, run_id="run-1", now=NOW)
    assert first.outcome == "failed" and "connection reset" in first.message
    (written,) = [path for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    earlier = written.read_bytes()

    # the retry (a Dagster run retry: its parent is run-1) runs in another process, a new engine,
    # and renders different bytes meanwhile
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE organization SET name = 'Renamed' WHERE id = :id"), {"id": world["helios"]})
    retry_engine = db.create_engine(fresh_url)
    try:
        retry = run_request(retry_engine, LocalStore(tmp_path), _read(retry_engine), rid, run_id="run-2",
                            parent_run_id="run-1", now=NOW)  # a Dagster retry of run-1
    finally:
        retry_engine.dispose()
    assert retry.outcome == "completed", retry.message
    row = p.row("generated_report", rid)
    assert row["file_path"] == written.relative_to(tmp_path).as_posix() == retry.stored.key
    assert row["file_hash"] == hashlib.sha256(earlier).hexdigest()  # the earlier object, not a new render
    assert [path for path in (tmp_path / "reports").rglob("*") if path.is_file()] == [written]


def test_a_re_pended_request_never_records_an_earlier_attempts_leftover_object(fresh_engine, tmp_path):
    """Attempt 1 writes its object, then recording it fails (the row ends failed, its object left
    behind). The user fixes the data and sets the row back to pending: the new attempt (a new
    claim, not a retry of run-1) writes an object of its own with the fixed data and records that
    one; the leftover stays as it was. Delivery accepts the new key as the row's own."""
    world = time_world(fresh_engine)
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "json")
    first = run_request(fresh_engine, LostResponseStore(tmp_path), _read(fresh_engine), rid, run_id="run-1", now=NOW)
    assert first.outcome == "failed" and "connection reset" in first.message
    (leftover,) = [path for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    leftover_bytes = leftover.read_bytes()
    assert json.loads(leftover_bytes)["organization"]["name"] == "Helios Energy"
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE organization SET name = 'Helios Energy SA' WHERE id = :id"), {"id": world["helios"]})
        conn.execute(sa.text("UPDATE generated_report SET report_status = 'pending' WHERE id = :id"), {"id": rid})
    again = run_request(fresh_engine, LocalStore(tmp_path), _read(fresh_engine), rid, run_id="run-2", now=NOW)
    assert again.outcome == "completed", again.message
    row = p.row("generated_report", rid)
    assert row["file_path"] != leftover.relative_to(tmp_path).as_posix()
    data = LocalStore(tmp_path).get(row["file_path"])
    assert json.loads(data)["organization"]["name"] == "Helios Energy SA"  # the fixed data, not the leftover
    assert hashlib.sha256(data).hexdigest() == row["file_hash"]
    assert leftover.read_bytes() == leftover_bytes
    assert key_problem(fresh_engine, row) is None


def test_a_database_without_the_token_table_fails_clearly_before_writing(fresh_engine, fresh_url, tmp_path):
    world = time_world(fresh_engine)
    rid = world["p"].request(world["helios"], "timesheet", "csv")
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE reporting_installation"))
    engine = db.create_engine(fresh_url)  # a new engine: nothing cached
    try:
        doc = make_document(organization_id=world["helios"])
        with pytest.raises(InstallationTokenMissing, match="reporting-dagster db upgrade"):
            exporter.export(engine, LocalStore(tmp_path), doc, billing_period_id=None, formats=("csv",),
                            template_id=None, dagster_run_id="r")
        assert [r["id"] for r in _rows(engine)] == [rid]  # no monthly-pack row was started
        outcome = run_request(engine, LocalStore(tmp_path), _read(engine), rid, run_id="r", now=NOW)
        assert outcome.outcome == "failed" and "reporting-dagster db upgrade" in outcome.message
        assert not (tmp_path / "reports").exists()
    finally:
        engine.dispose()


def test_new_token_gives_a_restored_copy_its_own_keys(fresh_engine, fresh_url, monkeypatch, capsys):
    """A clone (CREATE DATABASE … TEMPLATE, like a restored dump) shares its source's token."""
    before = installation_token(fresh_engine)
    monkeypatch.setenv("REPORTING_DATABASE_URL", fresh_url.render_as_string(hide_password=False))
    assert cli.main(["db", "new-token"]) == 0
    assert "new installation token set" in capsys.readouterr().out
    assert installation_token(fresh_engine) == before  # cached for the engine's lifetime
    engine = db.create_engine(fresh_url)
    try:
        after = installation_token(engine)
        assert after != before and re.fullmatch(r"[0-9a-f]{32}", after)
        assert installation.new_token(engine) not in (before, after)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM reporting_installation")).scalar_one() == 1
    finally:
        engine.dispose()


def test_upgrading_again_keeps_the_token(rebuilt_engine, empty_database_url):
    token = installation_token(rebuilt_engine)
    migration = next(m for m in migrate.discover() if m.name == "installation_token")
    with rebuilt_engine.begin() as conn:
        conn.exec_driver_sql(migration.sql)  # the migration itself is idempotent too
    engine = db.create_engine(empty_database_url)
    try:
        assert migrate.upgrade(engine) == [] and installation_token(engine) == token
    finally:
        engine.dispose()


def test_new_token_on_a_database_never_upgraded_says_what_to_run(empty_database_url, monkeypatch, capsys):
    monkeypatch.setenv("REPORTING_DATABASE_URL", empty_database_url.render_as_string(hide_password=False))
    assert cli.main(["db", "new-token"]) == 2
    assert "reporting-dagster db upgrade" in capsys.readouterr().err
