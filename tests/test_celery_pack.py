"""The monthly pack through dagster-celery on a real Celery worker and Redis: the same files and
generated_report rows as an in-process run of the same month on a copy of the same data.

The month is test_empty_pack's: Helios with one row of every kind, Quiet Org with none ("no data"
files), Newcomer created after the month (no files): 7 report types × 2 organizations × 5 formats.
The celery run cuts every export into chunks of one organization, so each organization's files
are written by their own Celery task; the in-process run keeps the default chunk size (one chunk),
so the test also shows that chunking does not change a byte.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from pypdf import PdfReader

from reporting_dagster.defs.executors import celery_config, executor_from_env
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase, resources_from_env
from reporting_dagster.lib.infra import db
from tests.test_empty_pack import PARTITION, REPORT_TYPES, STAMP, month, pack_assets  # noqa: F401 - month is a fixture

REDIS = ("127.0.0.1", 6379)
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUN_CONFIG = {"ops": {f"{rt}_report": {"config": {"generated_at": STAMP}} for rt in REPORT_TYPES}}


def celery_pack_job():
    """The pack as the code location builds it from the environment: resources, IO manager and the
    executor (REPORTS_EXECUTOR) all from the variables the run and the worker share."""
    defs = dg.Definitions(
        assets=pack_assets(),
        jobs=[dg.define_asset_job("celery_pack", selection=dg.AssetSelection.all(),
                                  executor_def=executor_from_env())],
        resources=resources_from_env(),
    )
    return defs.resolve_job_def("celery_pack")


def _redis_db() -> int:
    """A Redis database of its own for this test run (1..15, from the process id), emptied first."""
    redis = pytest.importorskip("redis")
    number = 1 + os.getpid() % 15
    client = redis.Redis(*REDIS, db=number, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS[0]}:{REDIS[1]} ({exc}): the Celery test needs a broker")
    client.flushdb()
    return number


def _copy_database(engine, url, name: str):
    """A second database with the same rows (and ids) as `url`'s: CREATE DATABASE … TEMPLATE."""
    engine.dispose()
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    admin.dispose()
    return url.set(database=name)


def _drop_database(url):
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    admin.dispose()


def _outputs(url, store: Path) -> tuple[dict, list]:
    """The files by (organization, report type, format) and the rows without what differs per run
    (ids, paths, run ids, timings).

    A PDF is compared by its pages' text: WeasyPrint's embedded font subsets differ in their bytes
    with what the renderer process drew before (the same glyphs, another compressed stream), so
    its size and hash are left out of its row too. Every other format is compared byte for byte."""
    engine = db.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT organization_id, report_type::text, file_format::text, report_status::text, name, "
            "generation_source::text, report_template_id, billing_period_id, file_size_bytes, file_hash, "
            "record_count, summary_data::text, file_path FROM generated_report ORDER BY 1, 2, 3")).all()
    engine.dispose()
    files = {(r[0], r[1], r[2]): _content(r[2], (store / r[12]).read_bytes()) for r in rows}
    return files, [tuple(r[:8]) + ((None, None) if r[2] == "pdf" else tuple(r[8:10])) + tuple(r[10:12]) for r in rows]


def _content(fmt: str, data: bytes) -> bytes | list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages] if fmt == "pdf" else data


def _start_worker(tmp_path: Path, env: dict, queue: str, name: str) -> subprocess.Popen:
    """`dagster-celery worker start` as the README gives it: the executor's config as YAML, the
    queue, and the solo pool (a step starts renderer processes, which a prefork pool's daemonic
    children may not)."""
    config = tmp_path / "celery.yaml"
    config.write_text(yaml.safe_dump({"execution": {"config": celery_config()}}))
    log = open(tmp_path / f"{name}.log", "wb")
    return subprocess.Popen(
        [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config),
         "-q", queue, "-n", name, "--", "--pool=solo"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(worker: subprocess.Popen) -> None:
    """The worker and the celery process it started (one process group, ours)."""
    if worker.poll() is None:
        os.killpg(worker.pid, 15)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)
            worker.wait(5)


@pytest.mark.filterwarnings("ignore:Task name 'execute_plan' is already registered")  # dagster-celery's own
def test_the_pack_on_a_celery_worker_writes_what_the_in_process_run_writes(fresh_engine, fresh_url, month, tmp_path,
                                                                            monkeypatch):
    redis_db = _redis_db()
    copy_url = _copy_database(fresh_engine, fresh_url, f"{fresh_url.database}_copy")
    try:
        # the reference: in process, on the copy, default chunk size
        reference = tmp_path / "in_process"
        resources = {"platform_db": PlatformDatabase(url=copy_url.render_as_string(hide_password=False)),
                     "report_store": LocalReportStore(directory=str(reference))}
        with dg.instance_for_test() as instance:
            assert dg.materialize(pack_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                                  run_config=RUN_CONFIG).success

        # the same month through Celery: one task per step, one organization per export chunk
        queue = f"reports-test-{uuid.uuid4().hex[:8]}"
        home, store = tmp_path / "dagster_home", tmp_path / "celery"
        home.mkdir()
        for name, value in {
            "DAGSTER_HOME": str(home), "REPORTS_EXECUTOR": "celery", "REPORTS_CELERY_QUEUE": queue,
            "REPORTS_CELERY_BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{redis_db}",
            "REPORTING_DATABASE_URL": fresh_url.render_as_string(hide_password=False),
            "REPORTS_LOCAL_DIR": str(store), "REPORTING_STATE_DIR": str(tmp_path / "state"),
            "REPORTS_EXPORT_CHUNK_ORGANIZATIONS": "1",
        }.items():
            monkeypatch.setenv(name, value)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
        workers = [_start_worker(tmp_path, env, queue, f"{queue}-{i}") for i in (1, 2)]  # two "machines"
        try:
            with dg.instance_for_test(temp_dir=str(home)) as instance:
                outcome: dict = {}

                def run():
                    with dg.execute_job(dg.reconstructable(celery_pack_job), instance, run_config=RUN_CONFIG,
                                        tags={"dagster/partition": PARTITION}) as result:
                        outcome["success"] = result.success
                        outcome["workers"] = {e.event_specific_data.metadata["Celery worker"].value
                                              for e in result.all_events if e.event_type_value == "ENGINE_EVENT"
                                              and e.event_specific_data and "Celery worker" in e.event_specific_data.metadata}
                        outcome["steps"] = {e.step_key for e in result.all_events if e.is_step_success}

                runner = threading.Thread(target=run, daemon=True)
                started = time.monotonic()
                runner.start()
                runner.join(150)
                assert not runner.is_alive(), f"the Celery run did not finish in 150 s; worker log:\n{_tail(tmp_path)}"
                print(f"celery pack: {time.monotonic() - started:.1f} s on {sorted(outcome.get('workers', ()))}")
        finally:
            for worker in workers:
                _stop(worker)
        assert outcome.get("success"), f"the Celery run failed; worker log:\n{_tail(tmp_path)}"
        assert outcome["workers"] and all(w.startswith(queue) for w in outcome["workers"])  # steps ran on the worker
        chunks = {s for s in outcome["steps"] if s.startswith("timesheet_report.timesheet_chunk[")}
        assert chunks == {f"timesheet_report.timesheet_chunk[orgs_{o}_to_{o}]" for o in (month["helios"], month["quiet"])}

        files, rows = _outputs(fresh_url, store)
        expected_files, expected_rows = _outputs(copy_url, reference)
        assert len(rows) == 7 * 2 * 5 and {r[3] for r in rows} == {"completed"}
        assert {(r[0], r[1]) for r in rows} == {(o, rt) for o in (month["helios"], month["quiet"]) for rt in REPORT_TYPES}
        assert rows == expected_rows
        assert files.keys() == expected_files.keys()
        different = sorted(k for k in files if files[k] != expected_files[k])
        assert not different, different
    finally:
        _drop_database(copy_url)
        shutil.rmtree(tmp_path / "state", ignore_errors=True)


def _tail(tmp_path: Path, lines: int = 40) -> str:
    return "\n".join(f"{log.name}: {line}" for log in sorted(tmp_path.glob("reports-test-*.log"))
                     for line in log.read_text(errors="replace").splitlines()[-lines:]) or "(no log)"
