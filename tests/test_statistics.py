"""report_statistics: seed 000 get_report_statistics per organization, hand-computed expectations."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import sqlalchemy as sa

from reporting_dagster.defs.maintenance.statistics import report_statistics
from reporting_dagster.defs.resources import PlatformDatabase
from reporting_dagster.lib.operations import statistics
from reporting_dagster.lib.operations.statistics import ReportStatistics

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 29, 5, 0, tzinfo=UTC)


def _org(engine, name: str) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text("INSERT INTO organization (name) VALUES (:n) RETURNING id"), {"n": name}).scalar()


def _report(engine, org: int, status: str, created_at: dt.datetime, *, records: int | None = None,
            ms: int | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("""
            INSERT INTO generated_report (organization_id, generation_source, report_type, name, report_status,
                                          file_format, record_count, processing_time_ms, created_at)
            VALUES (:org, 'on_demand', 'timesheet', 'Timesheet', CAST(:status AS report_status), 'csv',
                    :records, :ms, :created_at)"""),
            {"org": org, "status": status, "records": records, "ms": ms, "created_at": created_at})


def _seed(engine, now: dt.datetime) -> tuple[int, int, int]:
    alpha, beta, idle = _org(engine, "Alpha"), _org(engine, "Beta | <b>"), _org(engine, "Idle")
    day = dt.timedelta(days=1)
    _report(engine, alpha, "completed", now - 1 * day, records=10, ms=1000)
    _report(engine, alpha, "completed", now - dt.timedelta(days=29, hours=23), records=20, ms=2001)
    _report(engine, alpha, "failed", now - 2 * day, records=99, ms=5)  # failed: its records never count
    _report(engine, alpha, "pending", now - 3 * day)
    _report(engine, alpha, "processing", now - 4 * day)
    _report(engine, alpha, "completed", now - 31 * day, records=1000, ms=9000)  # outside the window
    # Beta's canary numbers must never show up in Alpha's row
    _report(engine, beta, "completed", now - 5 * day, records=7000, ms=300)
    _report(engine, beta, "failed", now - 6 * day)
    _report(engine, beta, "failed", now - 7 * day)
    _report(engine, beta, "completed", now - 40 * day, records=5, ms=5)
    return alpha, beta, idle


def test_statistics_per_organization_over_the_last_30_days(fresh_engine):
    alpha, beta, idle = _seed(fresh_engine, NOW)

    rows = statistics.report_statistics(fresh_engine, now=NOW)

    assert rows == [
        # avg (1000 + 2001) / 2 = 1500.5 → 1501 (half-up)
        ReportStatistics(alpha, "Alpha", total_reports=5, completed_reports=2, failed_reports=1, pending_reports=2,
                         total_records_exported=30, avg_processing_time_ms=1501),
        ReportStatistics(beta, "Beta | <b>", total_reports=3, completed_reports=1, failed_reports=2,
                         pending_reports=0, total_records_exported=7000, avg_processing_time_ms=300),
        ReportStatistics(idle, "Idle", total_reports=0, completed_reports=0, failed_reports=0, pending_reports=0,
                         total_records_exported=0, avg_processing_time_ms=None),
    ]
    assert statistics.get_report_statistics(fresh_engine, beta, 30, now=NOW) == rows[1]
    assert statistics.get_report_statistics(fresh_engine, 999_999, now=NOW) is None
    # a longer window takes in Alpha's 31-day-old report: (1000 + 2001 + 9000) / 3 = 4000.33 → 4000
    alpha_60 = statistics.get_report_statistics(fresh_engine, alpha, 60, now=NOW)
    assert (alpha_60.total_reports, alpha_60.total_records_exported, alpha_60.avg_processing_time_ms) == (6, 1030, 4000)


def test_markdown_table_escapes_organization_names():
    table = statistics.markdown_table([
        ReportStatistics(2, "Beta | <b>\nx", 3, 1, 2, 0, 7000, 300),
        ReportStatistics(3, "Idle", 0, 0, 0, 0, 0, None),
    ])
    lines = table.splitlines()
    assert lines[2] == "| Beta \\| \\<b\\> x (2) | 3 | 1 | 2 | 0 | 7000 | 300 |"
    assert lines[3] == "| Idle (3) | 0 | 0 | 0 | 0 | 0 |  |"


def test_report_statistics_asset_materializes_against_a_fresh_database(fresh_engine, fresh_url):
    alpha, beta, idle = _seed(fresh_engine, dt.datetime.now(UTC))

    with dg.instance_for_test() as instance:  # an ephemeral instance may be collected before the result is read
        result = dg.materialize(
            [report_statistics], instance=instance,
            resources={"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False))},
        )
        assert result.success
        materialization = result.asset_materializations_for_node("report_statistics")[0]
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["organizations"] == 3
    assert (metadata["total_reports"], metadata["completed_reports"], metadata["failed_reports"],
            metadata["pending_reports"], metadata["total_records_exported"]) == (8, 3, 3, 2, 7030)
    table = metadata["by_organization"].splitlines()
    assert table[2] == f"| Alpha ({alpha}) | 5 | 2 | 1 | 2 | 30 | 1501 |"
    assert table[3] == f"| Beta \\| \\<b\\> ({beta}) | 3 | 1 | 2 | 0 | 7000 | 300 |"
    assert table[4] == f"| Idle ({idle}) | 0 | 0 | 0 | 0 | 0 |  |"
    assert report_statistics.dependency_keys == {dg.AssetKey(["platform", "generated_report"])}
