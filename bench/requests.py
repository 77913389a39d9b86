"""Requests per minute through Dagster the way production runs them (issue 11 item 6).

N pending generated_report rows (30; 100 with --heavy) of every report type and format are
inserted into a seeded database; a real `dagster-daemon` (its own code server, the request
sensor, the QueuedRunCoordinator with 3 runs at once, DefaultRunLauncher: every run a
subprocess) turns them into generate_report runs. Timed: from the first run the sensor
launched until every row is completed or failed and every run has ended, delivery included
(the sensor's polling interval before that first tick is latency, not throughput).
Units: requests.

Everything lives in a temporary DAGSTER_HOME; the daemon runs in its own process group and is
killed at exit. Variants: ours (requests batched per run when the queue is backed up) and one
run per request (`REPORTS_REQUEST_BATCH=1`), in the same seeded database.

    python -m bench.requests [--heavy] [--code-root PATH]   # one standalone measurement
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
CONCURRENT_RUNS = 3
FORMATS = ("csv", "xlsx", "json", "html", "pdf")
TIMEOUT = 1800.0  # seconds: a run that never finishes fails the bench instead of hanging it


def cases(size) -> list:
    from bench.harness import Case, Target, Variant
    from reporting_dagster.lib.operations.demo_seed import SeedOptions

    url = size.database_url("requests", SeedOptions(orgs=3, months=24, scale=1))
    note = "a real dagster-daemon, 3 runs at once; timed from the first run launched; units/s × 60 = per minute"
    target = (Target("units_per_s", ">=", 30 / 60),)

    def case(count: int, baseline: bool, repeat: int) -> Case:
        args = {"database_url": url, "count": count}
        variants = [Variant("batched", "bench.requests:pending_requests", args)]
        if baseline:  # ~2 min a round on 2 cores: only with --heavy
            variants.append(Variant("one run per request", "bench.requests:pending_requests", {**args, "batch": 1}))
        return Case(f"requests_x{count}", "requests", tuple(variants), targets=target, repeat=repeat, note=note)

    if size.heavy:
        return [case(30, baseline=True, repeat=3), case(100, baseline=False, repeat=1)]
    return [case(30, baseline=False, repeat=2)]


def pending_requests(database_url: str, count: int = 30, batch: int | None = None,
                     code_root: str | None = None):
    """Start the daemon, insert `count` pending rows, wait for the first run; return the timed wait."""
    engine = sa.create_engine(_sqlalchemy_url(database_url), pool_pre_ping=True)
    with engine.connect() as conn:  # another bench's daemon (or its leftovers) would take rows of this one
        busy = conn.execute(sa.text(
            "SELECT count(*) FROM generated_report WHERE report_status IN ('pending', 'processing')")).scalar_one()
    if busy:
        raise RuntimeError(f"{busy} generated_report rows are pending or processing in the bench database: "
                           "is another requests bench running?")
    home = Path(tempfile.mkdtemp(prefix="bench-requests-"))
    _write_instance(home, Path(code_root) if code_root else ROOT)
    _instance(home).get_runs_count()  # create the sqlite storage before the daemon and its code server race to
    daemon = _start_daemon(home, database_url, batch, Path(code_root) if code_root else ROOT)
    atexit.register(_stop, daemon)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed bench still stops its daemon
    _wait_for_sensor(home, daemon)
    ids = _insert(engine, count)
    _wait(lambda: _runs(home) > 0, daemon, "the request sensor launched no run")

    def run() -> dict:
        _wait(lambda: _finished(engine, ids) == len(ids) and not _running(home), daemon,
              f"not all {len(ids)} requests finished and delivered")
        with engine.connect() as conn:
            failed = conn.execute(sa.text(
                "SELECT count(*) FROM generated_report WHERE id = ANY(:ids) AND report_status = 'failed'"),
                {"ids": ids}).scalar_one()
        return {"units": len(ids), "failed": int(failed), "runs": _runs(home)}

    return run


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def _write_instance(home: Path, code_root: Path) -> None:
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: QueuedRunCoordinator\n"
        f"  config:\n    max_concurrent_runs: {CONCURRENT_RUNS}\n"
        "telemetry:\n  enabled: false\n", encoding="utf-8")
    (home / "workspace.yaml").write_text(
        f"load_from:\n  - python_module:\n      module_name: reporting_dagster.definitions\n"
        f"      working_directory: {code_root}\n", encoding="utf-8")


def _start_daemon(home: Path, database_url: str, batch: int | None, code_root: Path) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(code_root),
           "REPORTING_DATABASE_URL": database_url, "REPORTING_STATE_DIR": str(home / "state"),
           "REPORTS_LOCAL_DIR": str(home / "store")}
    env.pop("REPORTS_S3_BUCKET", None)
    if batch is not None:
        env["REPORTS_REQUEST_BATCH"] = str(batch)
    daemon_bin = Path(sys.executable).with_name("dagster-daemon")
    log = open(home / "daemon.log", "wb")  # noqa: SIM115 - kept open for the daemon's lifetime
    return subprocess.Popen([str(daemon_bin), "run", "-w", str(home / "workspace.yaml")], cwd=home, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(daemon: subprocess.Popen) -> None:
    if daemon.poll() is None:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)


def _instance(home: Path):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def _wait_for_sensor(home: Path, daemon: subprocess.Popen) -> None:
    """Until the request sensor has ticked once (the code server is up and the sensor running)."""
    from dagster._core.scheduler.instigation import InstigatorType

    instance = _instance(home)

    def ticked() -> bool:
        states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        state = next((s for s in states if s.name == "report_request_sensor"), None)
        return state is not None and bool(instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1))

    _wait(ticked, daemon, "the request sensor never ticked")


def _runs(home: Path) -> int:
    import dagster as dg

    return _instance(home).get_runs_count(dg.RunsFilter(job_name="generate_report"))


def _running(home: Path) -> int:
    """generate_report runs not finished yet (a row is completed before its delivery step runs)."""
    import dagster as dg

    return _instance(home).get_runs_count(dg.RunsFilter(job_name="generate_report", statuses=[
        dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]))


def _wait(done, daemon: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not done():
        if daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited ({daemon.returncode}): {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.25)


def _finished(engine, ids: list[int]) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM generated_report WHERE id = ANY(:ids) "
            "AND report_status IN ('completed', 'failed')"), {"ids": ids}).scalar_one()


def _insert(engine, count: int) -> list[int]:
    """`count` on-demand rows: every organization, report type and format in turn, for the latest
    completed billing period (what the platform inserts for a user's request)."""
    with engine.begin() as conn:
        orgs = [r[0] for r in conn.execute(sa.text("SELECT id FROM organization ORDER BY id"))]
        start, end = conn.execute(sa.text(
            "SELECT start_date, end_date FROM billing_period WHERE end_date < CURRENT_DATE "
            "ORDER BY start_date DESC LIMIT 1")).one()
        kinds = _kinds(start, end)
        ids = []
        for i in range(count):
            report_type, parameters = kinds[i % len(kinds)]
            values = {"o": orgs[i % len(orgs)], "t": report_type, "f": FORMATS[i % len(FORMATS)],
                      "p": json.dumps(parameters), "start": start}
            ids.append(conn.execute(sa.text(
                "INSERT INTO generated_report (organization_id, report_type, file_format, generation_source, name, "
                "parameters, billing_period_id) VALUES (:o, :t, :f, 'on_demand', "
                "'bench request', CAST(:p AS jsonb), (SELECT id FROM billing_period WHERE start_date = :start)) "
                "RETURNING id"), values).scalar_one())
    return ids


def _kinds(start: dt.date, end: dt.date) -> list[tuple[str, dict]]:
    span = {"date_from": start.isoformat(), "date_to": end.isoformat()}
    return [("timesheet", span), ("invoice_comparison", {}), ("project_profitability", span),
            ("invoice_expected", {}), ("invoice_aging", {"as_of_date": end.isoformat()}),
            ("invoice_received", {}), ("invoice_to_client", {})]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("REPORTING_DATABASE_URL"))
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--code-root", default=None)
    a = parser.parse_args()
    timed = pending_requests(a.database_url, a.count, a.batch, a.code_root)
    began = time.perf_counter()
    result = timed()
    seconds = time.perf_counter() - began
    print(json.dumps({**result, "seconds": round(seconds, 1),
                      "per_minute": round(result["units"] * 60 / seconds, 1)}))
