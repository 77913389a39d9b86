"""`reporting-dagster demo run`: the monthly pack for one month on the local demo instance."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from reporting_dagster.lib import db, settings
from reporting_dagster.lib.paths import state_dir

DEMO_INSTANCE_YAML = """\
# Throwaway demo instance (SQLite storage under .reporting/dagster); production uses ../dagster.yaml
telemetry:
  enabled: false
"""


def ensure_demo_instance() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(state_dir() / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DEMO_INSTANCE_YAML, encoding="utf-8")
    return home


def latest_partition() -> str:
    from reporting_dagster.defs.partitions import billing_period

    return billing_period.get_last_partition_key()


def run_demo(partition: str | None = None) -> int:
    import dagster as dg

    from reporting_dagster.definitions import defs

    ensure_demo_instance()
    key = partition or latest_partition()
    job = defs.get_job_def("monthly_reports")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
    print(f"monthly_reports for {key}: {'succeeded' if result.success else 'FAILED'} (run {result.run_id})")
    _print_files(key)
    return 0 if result.success else 1


def _print_files(key: str) -> None:
    engine = db.create_engine(settings.database_url())
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            """
            SELECT g.organization_id, o.name, g.report_type::text, g.file_format::text, g.report_status::text,
                   g.file_path, g.file_size_bytes
            FROM generated_report g JOIN organization o ON o.id = g.organization_id
            JOIN billing_period b ON b.id = g.billing_period_id
            WHERE to_char(b.start_date, 'YYYY-MM') = :key
              AND g.id IN (SELECT max(id) FROM generated_report GROUP BY organization_id, report_type,
                           billing_period_id, file_format)
            ORDER BY g.organization_id, g.report_type, g.file_format
            """), {"key": key}).all()
    root = os.environ.get("REPORTS_LOCAL_DIR") or str(state_dir() / "reports")
    where = f"s3://{os.environ['REPORTS_S3_BUCKET']}" if os.environ.get("REPORTS_S3_BUCKET") else root
    print(f"\nReport files ({len(rows)}) under {where}:")
    for org_id, org, rtype, fmt, status, path, size in rows:
        label = " ".join(str(org).split())[:40]
        print(f"  [{status:9s}] org {org_id} {label:40s} {rtype:22s} {fmt:4s} {path or '-'} ({size or 0:,d} bytes)")
    engine.dispose()
