import sqlalchemy as sa

from reporting_dagster.lib.infra import db, migrate

PART_A = [
    "organization", "currency", "counterparty", "project", "contract", "billing_period",
    "invoice_line_item_type", "meter_aggregate", "invoice_header", "invoice_line_item",
    "expected_invoice_header", "expected_invoice_line_item", "received_invoice_header",
    "received_invoice_line_item", "invoice_comparison", "invoice_comparison_line_item",
]
PART_B = ["member", "task", "time_entry", "customer_project", "invoice_payment"]
PART_C = ["report_template", "scheduled_report", "generated_report", "report_definition",
          "report_delivery", "audit_event", "reporting_installation", "reporting_run_heartbeat"]


ALL_VERSIONS = [m.version for m in migrate.discover()]


def _tables(engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _schema_snapshot(engine) -> list[tuple]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position")))


def test_upgrade_creates_all_parts_and_second_run_changes_nothing(empty_database_url):
    engine = db.create_engine(empty_database_url)
    applied = migrate.upgrade(engine)
    assert [m.version for m in applied] == ALL_VERSIONS
    assert set(PART_A + PART_B + PART_C) <= _tables(engine)
    before = _schema_snapshot(engine)
    assert migrate.upgrade(engine) == []
    assert _schema_snapshot(engine) == before
    assert set(migrate.applied_versions(engine)) == set(ALL_VERSIONS)
    engine.dispose()


def test_upgrade_keeps_an_existing_platform_part_a(empty_database_url):
    """A platform database with Part A and data gains Parts B and C; its rows stay."""
    engine = db.create_engine(empty_database_url)
    part_a = migrate.discover()[0]
    with engine.begin() as conn:
        part_a.apply(conn)
        conn.exec_driver_sql("INSERT INTO organization (name) VALUES ('Existing Org')")
        # an older platform report enum with fewer values than ours
        conn.exec_driver_sql(
            "CREATE TYPE report_type AS ENUM ('invoice_to_client', 'invoice_expected', "
            "'invoice_received', 'invoice_comparison')")
    applied = migrate.upgrade(engine)
    assert [m.version for m in applied] == ALL_VERSIONS
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM organization")).scalars().all() == ["Existing Org"]
        labels = conn.execute(sa.text("SELECT unnest(enum_range(NULL::report_type))::text")).scalars().all()
    assert "project_profitability" in labels and "invoice_comparison" in labels
    assert set(PART_B + PART_C) <= _tables(engine)
    engine.dispose()


def test_plain_libpq_url_is_accepted():
    url = db.normalize_url("postgresql://postgres@127.0.0.1:5432/platform")
    assert url.drivername == "postgresql+psycopg"
    assert url.database == "platform"
    assert db.normalize_url("postgresql+psycopg2://u@h/d").drivername == "postgresql+psycopg2"


def test_non_postgres_url_is_refused_clearly():
    import pytest

    with pytest.raises(db.DatabaseConfigError, match="PostgreSQL"):
        db.normalize_url("sqlite:///x.db")


def test_a_gap_in_version_numbers_is_filled_later(empty_database_url, tmp_path):
    """0005 may land before 0004: a version added below one already applied still runs, once."""
    engine = db.create_engine(empty_database_url)
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE gap_one (id int);")
    (tmp_path / "0003_third.sql").write_text("CREATE TABLE gap_three (id int);")
    assert [m.version for m in migrate.upgrade(engine, tmp_path)] == [1, 3]
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE gap_two (id int);")
    assert [m.version for m in migrate.pending(engine, tmp_path)] == [2]
    assert [m.version for m in migrate.upgrade(engine, tmp_path)] == [2]
    assert migrate.upgrade(engine, tmp_path) == []
    assert {"gap_one", "gap_two", "gap_three"} <= _tables(engine)
    engine.dispose()
