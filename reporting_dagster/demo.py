"""`reporting-dagster demo run`: the monthly pack for one month on the local demo instance."""

from __future__ import annotations

import json
import os
from pathlib import Path

from reporting_dagster.lib.infra import db, settings
from reporting_dagster.lib.operations import records
from reporting_dagster.lib.infra.periods import month_bounds
from reporting_dagster.lib.infra.paths import state_dir
from reporting_dagster.lib.infra.store import MANIFEST

DEMO_INSTANCE_YAML = """\
# Throwaway demo instance (SQLite storage under .reporting/dagster); production uses ../dagster.yaml
# A laptop-sized run queue: a 12-month backfill takes two slots, so a report request still runs.
concurrency:
  runs:
    max_concurrent_runs: 3
    tag_concurrency_limits:
      - key: dagster/backfill
        limit: 2
telemetry:
  enabled: false
"""


def ensure_demo_instance() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(state_dir() / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text(encoding="utf-8") != DEMO_INSTANCE_YAML:
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
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    with dg.DagsterInstance.get() as instance:
        maintenance = defs.resolve_job_def("report_maintenance").execute_in_process(
            instance=instance, raise_on_error=False, run_config=quiet)
        result = defs.resolve_job_def("monthly_reports").execute_in_process(
            partition_key=key, instance=instance, raise_on_error=False, run_config=quiet)
    print(f"report_maintenance: {'succeeded' if maintenance.success else 'FAILED'} (run {maintenance.run_id})")
    print(f"monthly_reports for {key}: {'succeeded' if result.success else 'FAILED'} (run {result.run_id})")
    _print_files(key)
    return 0 if result.success and maintenance.success else 1


def _print_files(key: str) -> None:
    engine = db.create_engine(settings.database_url())
    rows = records.latest_files(engine, month_bounds(key)[0])
    engine.dispose()
    root = os.environ.get("REPORTS_LOCAL_DIR") or str(state_dir() / "reports")
    where = f"s3://{os.environ['REPORTS_S3_BUCKET']}" if os.environ.get("REPORTS_S3_BUCKET") else root
    names = {} if os.environ.get("REPORTS_S3_BUCKET") else _readable_names(Path(root) / MANIFEST)
    print(f"\nReport files ({len(rows)}) under {where}:")
    for r in rows:
        label = " ".join(str(r["organization_name"]).split())[:36]
        print(f"  [{r['report_status']:9s}] org {r['organization_id']:<3d} {label:36s} {r['report_type']:22s} "
              f"{r['file_format']:4s} {r['file_path'] or '-'} ({r['file_size_bytes'] or 0:,d} bytes)")
        if r["file_path"] in names:
            print(f"{'':17s}saved as: {names[r['file_path']]}")


def _readable_names(manifest: Path) -> dict[str, str]:
    """key → readable name from the local store's manifest (lib/infra/store.py), the last line wins."""
    names: dict[str, str] = {}
    if manifest.is_file():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("download_name"):
                names[str(entry.get("key"))] = str(entry["download_name"])
    return names
