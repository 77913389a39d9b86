"""On a database shaped like the production platform (SOURCE_SCHEMA.md Part A+): `db upgrade`
adds what the code uses and nothing of the platform's is altered or duplicated."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from reporting_dagster.lib.infra import db, migrate, platform_schema
from reporting_dagster.lib.infra.paths import EXTRACTS_DIR, SQL_DIR, read_named_sql

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _statements() -> list[tuple[str, str]]:
    """Every statement the code runs from sql/: the extracts and the named statements."""
    out = [(f"extracts/{p.stem}", p.stem) for p in sorted(EXTRACTS_DIR.glob("*.sql"))]
    for path in sorted(SQL_DIR.glob("*.sql")):
        if path.name.startswith("migration_"):
            continue
        out += [(f"{path.name}:{name}", sql) for name, sql in read_named_sql(path.name).items()]
    return out


def _explainable(sql: str) -> str:
    """The statement with every bound parameter as NULL, so EXPLAIN resolves every column."""
    sql = re.sub(r"\bIN\s+:(\w+)", "IN (NULL)", sql)
    return _PARAM.sub("NULL", sql)


def _column_check(engine) -> list[str]:
    problems = []
    with engine.connect() as conn:
        for label, sql in _statements():
            text = platform_schema.extract_sql(conn, sql) if label.startswith("extracts/") else sql
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql("EXPLAIN " + _explainable(text).replace("%", "%%"))
            except sa.exc.DBAPIError as exc:
                problems.append(f"{label}: {str(exc.orig).splitlines()[0]}")
    return problems


@pytest.mark.parametrize("shape", ["production", "plain"])
def test_every_column_the_sql_files_use_exists_after_upgrade(shape, request):
    """The next column added to a query cannot be forgotten in a migration (on either shape)."""
    url = request.getfixturevalue("production_url" if shape == "production" else "empty_database_url")
    engine = db.create_engine(url)
    migrate.upgrade(engine)
    assert _column_check(engine) == []
    engine.dispose()


def _indexes(conn, table: str) -> set[str]:
    return set(conn.execute(sa.text("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = to_regclass(:t)"),
                            {"t": table}).scalars())


def test_upgrade_twice_adds_our_columns_and_keeps_the_platforms_schema(production_url):
    engine = db.create_engine(production_url)
    assert [m.version for m in migrate.upgrade(engine)] == [m.version for m in migrate.discover()]
    with engine.connect() as conn:
        snapshot = conn.execute(sa.text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1, 2")).all()
    assert migrate.upgrade(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1, 2")).all() == snapshot
        columns = set(conn.execute(sa.text(
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public'")).scalars())
        assert {"report_template.brand_color", "generated_report.parameters", "generated_report.dagster_run_id",
                "generated_report.file_hash", "generated_report.record_count"} <= columns
        # the platform's own direction column keeps its enum type
        assert conn.execute(sa.text(
            "SELECT udt_name FROM information_schema.columns WHERE table_name = 'generated_report' "
            "AND column_name = 'invoice_direction'")).scalar_one() == "invoice_direction"
        # the platform's Part A is not altered: no column of ours on its invoice tables
        assert "expected_invoice_header.invoice_direction" in columns
        # an index on the same columns is not created twice
        assert _indexes(conn, "generated_report") == {
            "generated_report_pkey", "idx_generated_report_status", "idx_generated_report_org_created"}
        assert "ix_invoice_header_period" not in _indexes(conn, "invoice_header")
        # the new enum values are there (the platform's API must accept them: README)
        types = set(conn.execute(sa.text("SELECT unnest(enum_range(NULL::report_type))::text")).scalars())
        formats = set(conn.execute(sa.text("SELECT unnest(enum_range(NULL::file_format))::text")).scalars())
        assert {"invoice_aging", "timesheet", "project_profitability"} <= types and "html" in formats
        # the brand colour CHECK was added once
        assert conn.execute(sa.text(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'report_template'::regclass "
            "AND pg_get_constraintdef(oid) LIKE '%brand_color%'")).scalar_one() == 1
    engine.dispose()


def test_tables_we_add_get_row_level_security_when_the_platform_uses_it(production_url, fresh_url):
    ours = ["member", "task", "time_entry", "customer_project", "invoice_payment", "report_definition",
            "report_delivery", "audit_event"]
    for url, expected in ((production_url, True), (fresh_url, False)):
        engine = db.create_engine(url)
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rls = dict(conn.execute(sa.text(
                "SELECT relname::text, relrowsecurity FROM pg_class WHERE relname = ANY(:t)"), {"t": ours}).all())
        assert rls == {t: expected for t in ours}, url
        engine.dispose()


def test_the_platform_can_still_delete_an_organization_with_our_rows(production_url):
    """Our foreign keys never block the platform's own deletes (its report tables cascade too)."""
    engine = db.create_engine(production_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        org = conn.execute(sa.text("INSERT INTO organization (name) VALUES ('Gone') RETURNING id")).scalar_one()
        project = conn.execute(sa.text("INSERT INTO project (organization_id, name) VALUES (:o, 'P') RETURNING id"),
                               {"o": org}).scalar_one()
        member = conn.execute(sa.text("INSERT INTO member (organization_id, email) VALUES (:o, 'a@b.c') RETURNING id"),
                              {"o": org}).scalar_one()
        task = conn.execute(sa.text("INSERT INTO task (project_id, name) VALUES (:p, 'T') RETURNING id"),
                            {"p": project}).scalar_one()
        conn.execute(sa.text("INSERT INTO time_entry (task_id, member_id, date, duration_minutes) "
                             "VALUES (:t, :m, DATE '2024-11-04', 60)"), {"t": task, "m": member})
        invoice = conn.execute(sa.text("INSERT INTO invoice_header (project_id, total_amount) VALUES (:p, 10) "
                                       "RETURNING id"), {"p": project}).scalar_one()
        conn.execute(sa.text("INSERT INTO invoice_payment (invoice_header_id, amount, paid_date) "
                             "VALUES (:i, 5, DATE '2024-12-01')"), {"i": invoice})
        report = conn.execute(sa.text(
            "INSERT INTO generated_report (organization_id, generation_source, report_type, name, file_format) "
            "VALUES (:o, 'on_demand', 'invoice_expected', 'r', 'pdf') RETURNING id"), {"o": org}).scalar_one()
        conn.execute(sa.text("INSERT INTO report_delivery (generated_report_id, channel, recipient) "
                             "VALUES (:g, 'email', 'x@y.z')"), {"g": report})
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM organization WHERE id = :o"), {"o": org})
    with engine.connect() as conn:
        for table in ("member", "task", "time_entry", "invoice_payment", "generated_report", "report_delivery"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
        # the platform's own rules are kept: generated_report → organization still cascades, → project sets null
        rules = dict(conn.execute(sa.text(
            "SELECT conname::text, confdeltype::text FROM pg_constraint WHERE conrelid = 'generated_report'::regclass "
            "AND contype = 'f'")).all())
    assert rules["generated_report_organization_id_fkey"] == "c"
    assert rules["generated_report_project_id_fkey"] == "n"
    engine.dispose()


def test_upgrade_gives_up_on_a_busy_table_and_changes_nothing(production_url, monkeypatch):
    """A platform transaction holding generated_report: the upgrade waits 1 s, not forever, says
    to retry, and leaves the schema as it was; once the platform is quiet it goes through."""
    monkeypatch.setattr(migrate, "LOCK_TIMEOUT_MS", 1000)
    engine = db.create_engine(production_url)
    platform = engine.connect()
    busy = platform.begin()
    platform.execute(sa.text("SELECT count(*) FROM generated_report"))  # holds ACCESS SHARE until commit
    with pytest.raises(migrate.MigrationError, match="locked by another transaction.*again"):
        migrate.upgrade(engine)
    busy.rollback()
    platform.close()
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'report_template' "
            "AND column_name = 'brand_color'")).scalar_one() == 0
    migrate.upgrade(engine)
    assert migrate.pending(engine) == []
    engine.dispose()
