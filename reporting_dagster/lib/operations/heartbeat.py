"""Run worker heartbeats: how the reaper knows, from the database alone, that a run is dead.

Dagster's run monitoring notices a dead worker only for runs its own launcher started, and only
after `max_runtime_seconds` (2 h in production); a worker killed in a CLI run, a pack step or a
run of another Dagster instance leaves its report rows `processing` until then. So every process
that holds report rows for a run beats in `reporting_run_heartbeat` every `BEAT_SECONDS`
and says when it stops (`PlatformDatabase.beating`). A run none of whose processes beat within
`DEAD_AFTER_SECONDS` is dead: its rows are failed within DEAD_AFTER_SECONDS + the reaper's
interval (defs/requests/failures.py: about 4 minutes), never while a worker still beats.

A beat that cannot be written (database away for a moment, table not migrated yet) is logged and
tried again at the next beat: a heartbeat never fails the run it watches.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.infra.paths import read_named_sql

_SQL = read_named_sql("heartbeat.sql")
BEAT_SECONDS = 20.0
DEAD_AFTER_SECONDS = 120.0  # six missed beats: a busy worker's GIL or a slow commit never looks dead
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunLiveness:
    run_id: str
    alive: bool
    last_beat_at: dt.datetime  # the newest beat (or end) of any of its processes
    ended: bool = False  # every process said it stopped (none was killed)


def stopped_reason(beat: RunLiveness, claimed_at: dt.datetime | None, *,
                   dead_after: float = DEAD_AFTER_SECONDS) -> str | None:
    """Why a row this run claimed at `claimed_at` is no longer worked on; None while the run
    beats, or when the row was claimed after the run stopped (so not by it: another processor
    took it and kept the run id). A claim is made while its process beats: at most one beat
    interval after a beat, before any killing, and before the process said it stopped."""
    if beat.alive:
        return None
    if claimed_at is not None:
        if beat.ended and claimed_at > beat.last_beat_at:
            return None
        if not beat.ended and claimed_at > beat.last_beat_at + dt.timedelta(seconds=dead_after):
            return None
    if beat.ended:
        return "its run ended without finishing it"
    last = beat.last_beat_at.astimezone(dt.timezone.utc)
    return (f"its worker stopped: no heartbeat since {last:%Y-%m-%d %H:%M:%S} UTC "
            "(killed, or cut off from the database)")


class Heartbeat:
    """Beats for one run from this process until `stop()`; a daemon thread, so a killed process
    simply stops beating (which is the point)."""

    def __init__(self, engine: Engine, run_id: str, *, interval: float | None = None) -> None:
        self.engine, self.run_id = engine, run_id
        self.interval = BEAT_SECONDS if interval is None else interval  # read now: tests shrink it
        self.keys = {"run_id": run_id, "hostname": socket.gethostname()[:255], "pid": os.getpid()}
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        self._write("beat")  # the first beat before any row is claimed
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{self.run_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._write("end")

    def _loop(self) -> None:
        while not self._stopped.wait(self.interval):
            self._write("beat")

    def _write(self, statement: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.text(_SQL[statement]), self.keys)
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            _log.warning("run %s: heartbeat not written (%s); trying again in %.0f s",
                         self.run_id, type(exc).__name__, self.interval)


def liveness(engine: Engine, run_ids: Iterable[str], *,
             dead_after: float = DEAD_AFTER_SECONDS) -> dict[str, RunLiveness]:
    """What the heartbeats say about these runs; a run that never beat is absent."""
    ids = sorted({r for r in run_ids if r})
    if not ids:
        return {}
    statement = sa.text(_SQL["liveness"]).bindparams(sa.bindparam("run_ids", expanding=True))
    with engine.connect() as conn:
        rows = conn.execute(statement, {"run_ids": ids, "dead_after": dead_after}).all()
    return {r.run_id: RunLiveness(r.run_id, bool(r.alive), r.last_beat_at, bool(r.ended)) for r in rows}


def prune(engine: Engine, *, days: int = 30) -> int:
    """Forget heartbeats older than `days` (the reaper only looks at recent ones)."""
    with engine.begin() as conn:
        return conn.execute(sa.text(_SQL["prune"]), {"days": days}).rowcount
