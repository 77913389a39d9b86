"""Shared fixtures: a real PostgreSQL server and fresh migrated databases on it.

`REPORTING_TEST_DATABASE_URL` (CI sets it to the machine's server) names a server and a
maintenance database; without it the tests start the embedded server in a temporary folder.
Each test that asks for `fresh_engine` gets its own database cloned from a migrated template.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from reporting_dagster.lib.infra import db, migrate


@pytest.fixture(scope="session")
def server_url() -> URL:
    configured = os.environ.get("REPORTING_TEST_DATABASE_URL", "").strip()
    if configured:
        return db.normalize_url(configured)
    import tempfile

    import pgserver

    # not under pytest's basetemp: another pytest session on the machine prunes old basetemp
    # folders, and with them this session's running server (its socket and data)
    pgdata = Path(tempfile.mkdtemp(prefix="reporting-test-pg-")) / "data"
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    return db.normalize_url(server.get_uri("postgres"))


def _admin(server_url: URL) -> Engine:
    return sa.create_engine(server_url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def template_database(server_url: URL) -> Iterator[str]:
    """A database migrated once per session, cloned for every test database."""
    name = f"rd_tmpl_{uuid.uuid4().hex[:10]}"
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = db.create_engine(server_url.set(database=name))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def fresh_url(server_url: URL, template_database: str) -> Iterator[URL]:
    """The URL of a new, migrated, empty database; dropped after the test."""
    name = f"rd_test_{uuid.uuid4().hex[:12]}"
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield server_url.set(database=name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def fresh_engine(fresh_url: URL) -> Iterator[Engine]:
    engine = db.create_engine(fresh_url)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_database_url(server_url: URL) -> Iterator[URL]:
    """A new database with no schema at all (for migration tests)."""
    name = f"rd_empty_{uuid.uuid4().hex[:12]}"
    admin = _admin(server_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield server_url.set(database=name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto in server mode) on a free loopback port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{server._server.server_port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new empty bucket, with the AWS variables boto3 needs pointing at the test server."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"reports-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def production_url(empty_database_url: URL) -> URL:
    """A new database shaped like the production platform (Part A+), not yet upgraded."""
    from tests.production_platform import build_production_platform

    engine = db.create_engine(empty_database_url)
    build_production_platform(engine)
    engine.dispose()
    return empty_database_url


@pytest.fixture
def login_role(production_url: URL) -> Iterator[tuple[str, Engine]]:
    """A login role on the upgraded production-shaped database: SELECT, INSERT and UPDATE on every
    table and USAGE on the sequences, but no policy and no BYPASSRLS (what RLS blinds).
    Yields (role name, an engine of the tables' owner); the role is dropped afterwards."""
    role = f"rd_login_{uuid.uuid4().hex[:8]}"
    admin = db.create_engine(production_url)
    migrate.upgrade(admin)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql(f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO "{role}"')
        conn.exec_driver_sql(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    yield role, admin
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
        conn.exec_driver_sql(f'DROP ROLE "{role}"')
    admin.dispose()
