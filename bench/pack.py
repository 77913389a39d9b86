"""The monthly pack end to end: wall time, CPU utilisation and peak RSS of the whole process tree.

One run of the `monthly_reports` job for the last month, launched the way a deployment launches
it (`execute_job` of the reconstructable job, so its own executor places the steps), on a fresh
Dagster instance and a fresh local store each time. The catalogue and standard templates are
made first (not timed). Units are the files written; a run with a failed file is an error.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

from bench.databases import last_month
from bench.harness import Case, Size, Target, Variant
from reporting_dagster.lib.operations.demo_seed import SeedOptions

DEMO = SeedOptions(orgs=3, months=24, scale=1)
TEN = SeedOptions(orgs=10, months=3, scale=1)
HEAVY = SeedOptions(orgs=10, months=3, scale=120)  # issue 11: 105k time entries, 59.5k invoice lines
HEAVY_MAX_SECONDS = 300
MIN_CPU_UTILISATION = 1.8


def monthly_reports_job() -> Any:
    from reporting_dagster.definitions import defs

    return defs.resolve_job_def("monthly_reports")


def run_pack(database_url: str, partition: str, env: dict[str, str] | None = None) -> Callable[[], dict]:
    work = tempfile.mkdtemp(prefix="bench-pack-")
    home = os.path.join(work, "dagster")
    os.makedirs(home)
    with open(os.path.join(home, "dagster.yaml"), "w", encoding="utf-8") as f:
        f.write("telemetry:\n  enabled: false\n")
    os.environ.pop("REPORTS_S3_BUCKET", None)
    os.environ.update({"REPORTING_DATABASE_URL": database_url, "REPORTS_LOCAL_DIR": os.path.join(work, "reports"),
                       "DAGSTER_HOME": home, "REPORTS_FIRST_BILLING_PERIOD": partition,
                       "REPORTING_STATE_DIR": os.path.join(work, "state"), **(env or {})})
    import dagster as dg
    import sqlalchemy as sa

    from reporting_dagster.definitions import defs
    from reporting_dagster.lib.infra import db

    instance = dg.DagsterInstance.get()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if not defs.resolve_job_def("report_maintenance").execute_in_process(instance=instance, run_config=quiet,
                                                                         raise_on_error=False).success:
        raise RuntimeError("report_maintenance failed")

    def timed() -> dict:
        with dg.execute_job(dg.reconstructable(monthly_reports_job), instance=instance, run_config=quiet,
                            tags={"dagster/partition": partition}, raise_on_error=False) as result:
            run_id, success = result.run_id, result.success
        engine = db.create_engine(database_url)
        with engine.connect() as conn:
            counts = dict(conn.execute(sa.text(
                "SELECT report_status, count(*) FROM generated_report WHERE dagster_run_id = :r GROUP BY 1"),
                {"r": run_id}).all())
        engine.dispose()
        if not success or counts.get("failed"):
            raise RuntimeError(f"monthly_reports {'succeeded' if success else 'FAILED'}, files by status: {counts}")
        return {"units": counts.get("completed", 0)}

    return timed


EXECUTORS = ("in_process", "multiprocess")  # REPORTS_EXECUTOR (defs/executors.py); celery needs workers


def _case(name: str, size: Size, options: SeedOptions, targets: tuple[Target, ...] = (), note: str = "",
          repeat: int | None = None) -> Case:
    url = size.database_url(name, options)
    args = {"database_url": url, "partition": last_month()}
    executors = EXECUTORS if size.heavy else EXECUTORS[:1]  # the multiprocess baseline with --heavy
    variants = tuple(Variant(executor, "bench.pack:run_pack", args, env={"REPORTS_EXECUTOR": executor})
                     for executor in executors)
    return Case(f"pack_{name}", "files", variants, targets, repeat=repeat, note=note)


def cases(size: Size) -> list[Case]:
    if size.heavy:
        return [_case("demo", size, DEMO, note="the demo: 3 orgs", repeat=2),
                _case("heavy", size, HEAVY, (Target("seconds", "<=", HEAVY_MAX_SECONDS),
                                             Target("cpu_utilisation", ">=", MIN_CPU_UTILISATION)),
                      note="10 orgs, --scale 120: ~105k time entries, ~60k invoice lines", repeat=1)]
    return [_case("demo", size, DEMO, note="the demo: 3 orgs", repeat=2),
            _case("ten", size, TEN, note="10 orgs at demo volume", repeat=2)]
