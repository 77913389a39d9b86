"""Run worker heartbeats (lib/operations/heartbeat.py): a killed worker is known dead from the
database alone, within the dead-after window; a live one never is."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import sqlalchemy as sa

from reporting_dagster.defs.resources import PlatformDatabase
from reporting_dagster.lib.operations import heartbeat


def test_a_beating_process_is_alive_and_a_stopped_one_is_not(fresh_engine):
    beat = heartbeat.Heartbeat(fresh_engine, "run-live", interval=0.2).start()
    try:
        time.sleep(0.6)
        assert heartbeat.liveness(fresh_engine, ["run-live"], dead_after=5)["run-live"].alive
    finally:
        beat.stop()
    # stopped: said so at once, no need to wait for the beats to age
    assert not heartbeat.liveness(fresh_engine, ["run-live"], dead_after=5)["run-live"].alive
    assert heartbeat.liveness(fresh_engine, ["never-beat"]) == {}


def test_a_killed_worker_is_dead_after_the_window(fresh_url, fresh_engine):
    """A real process beats, is killed with SIGKILL (no chance to say it stops), and is dead once
    its last beat is older than dead_after; before the kill it is alive."""
    script = textwrap.dedent(f"""
        import time
        from reporting_dagster.lib.infra import db
        from reporting_dagster.lib.operations import heartbeat
        heartbeat.Heartbeat(db.create_engine({fresh_url.render_as_string(hide_password=False)!r}),
                            "run-killed", interval=0.2).start()
        print("beating", flush=True)
        time.sleep(600)
    """)
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert worker.stdout.readline().strip() == "beating"
        time.sleep(0.5)
        assert heartbeat.liveness(fresh_engine, ["run-killed"], dead_after=1.5)["run-killed"].alive
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        time.sleep(0.3)
        still = heartbeat.liveness(fresh_engine, ["run-killed"], dead_after=1.5)["run-killed"]
        assert still.alive  # killed 0.3 s ago: inside the window, not yet called dead
        time.sleep(1.6)
        assert not heartbeat.liveness(fresh_engine, ["run-killed"], dead_after=1.5)["run-killed"].alive
    finally:
        worker.kill()


def test_a_step_beats_while_it_holds_rows(fresh_url, fresh_engine):
    seen = {}

    @dg.asset
    def holds_rows(context: dg.AssetExecutionContext, platform_db: PlatformDatabase) -> None:
        with platform_db.beating(context.run.run_id), platform_db.engine.connect() as conn:
            seen["during"] = conn.execute(sa.text("SELECT run_id, ended_at FROM reporting_run_heartbeat")).all()

    with dg.instance_for_test() as instance:
        result = dg.materialize([holds_rows], instance=instance, resources={"platform_db": PlatformDatabase(
            url=fresh_url.render_as_string(hide_password=False))})
        assert result.success
    assert [(r.run_id, r.ended_at) for r in seen["during"]] == [(result.run_id, None)]
    assert not heartbeat.liveness(fresh_engine, [result.run_id])[result.run_id].alive  # ended with the step


def test_a_beat_that_cannot_be_written_never_fails_the_run(empty_database_url):
    from reporting_dagster.lib.infra import db

    engine = db.create_engine(empty_database_url)  # no migrations: no heartbeat table
    beat = heartbeat.Heartbeat(engine, "run-x", interval=0.1).start()
    time.sleep(0.25)
    beat.stop()  # logged, not raised
