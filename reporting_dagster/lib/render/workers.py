"""Render files in worker processes under a wall-time and a size budget.

WeasyPrint cannot be interrupted inside a thread, so a file that takes too long can only be
stopped by ending the process that lays it out. A `RenderPool` keeps `workers` such processes,
started from a forkserver that has already imported the renderers (a replacement starts in a
fraction of a second), and hands each one file at a time:

- over its wall time the worker is killed, the file fails with `RenderTimedOut` and a fresh
  worker takes the slot;
- output over its byte budget is not sent back: the file fails with `RenderTooLarge`;
- a worker that dies (killed, out of memory, a crash in a C library) fails only the file it was
  rendering (`RenderWorkerLost`) and is replaced; the next file renders normally;
- an error raised by a renderer is raised again here, as it would be in-process.

With more than one worker, files submitted together render concurrently; a file goes to an idle
worker that is already running before a new one is started, so files rendered one after another
(a request run) never pay for a second worker's start. The budget counts
from the moment the file is handed to a worker, so time spent waiting for a free worker is not
charged to it. `render_within_budget(doc, fmt)` renders through this process's shared pool with the
budget from the environment (README "Rendering limits").
"""

from __future__ import annotations

import atexit
import collections
import multiprocessing
import os
import select
import signal
import socket
import threading
import time
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

from reporting_dagster.lib import render
from reporting_dagster.lib.infra import settings
from reporting_dagster.lib.render.document import ReportDocument

# imported once by the forkserver, so every worker starts with them loaded. "__main__" first: the
# forkserver imports the parent's main module once (multiprocessing's rule applies: a script must
# keep its work under `if __name__ == "__main__"`), instead of every worker importing it again
PRELOAD = (
    "__main__",
    "reporting_dagster.lib.render",
    "reporting_dagster.lib.render.workers",
    "reporting_dagster.lib.render.pdf",
    "reporting_dagster.lib.render.html",
    "reporting_dagster.lib.render.xlsx",
    "reporting_dagster.lib.render.csv",
    "reporting_dagster.lib.render.jsonfmt",
    "weasyprint",
)
START_TIMEOUT_SECONDS = 120.0  # a worker that is not ready by then fails the file it was started for
STOP_GRACE_SECONDS = 2.0
FORMAT_NAMES = {"pdf": "PDF", "csv": "CSV", "xlsx": "XLSX", "json": "JSON", "html": "HTML"}
_ENV_PREFIX = "REPORTS_"


class RenderFailed(Exception):
    """A file the pool could not render; the message says what happened and what to do."""


class RenderTimedOut(RenderFailed):
    """The file did not finish within its wall-time budget; its worker was killed."""


class RenderTooLarge(RenderFailed):
    """The file came out larger than its byte budget; it was not returned."""


class RenderWorkerLost(RenderFailed):
    """The worker process ended while rendering the file (killed, crashed, out of memory)."""


@dataclass(frozen=True)
class Budget:
    seconds: float
    max_bytes: int

    @classmethod
    def from_settings(cls) -> "Budget":
        return cls(settings.render_timeout_seconds(), settings.max_file_bytes())


def describe(doc: ReportDocument, fmt: str) -> str:
    """'the Timesheet Report PDF for Acme (October 2026)': who and what, for every message."""
    org = " ".join(str(doc.organization_name).split())
    org = org if len(org) <= 80 else org[:79] + "…"
    return f"the {doc.definition.name} {FORMAT_NAMES.get(fmt, fmt)} for {org} ({doc.period_label})"


# ---------------------------------------------------------------------------------------------
# the worker process


def _apply_environment(env: dict[str, str]) -> None:
    """The parent's REPORTS_* settings for this file (a forkserver child has the forkserver's)."""
    for key in [k for k in os.environ if k.startswith(_ENV_PREFIX) and k not in env]:
        del os.environ[key]
    os.environ.update(env)


def _exit_when_parent_goes(fd: int) -> None:
    """End this worker as soon as the process that waits for its file is gone (killed, crashed),
    so a render never outlives it: nothing else closes the pipe while a file is rendering."""
    sock = socket.socket(fileno=os.dup(fd))
    while True:
        readable, _, _ = select.select([sock], [], [], 1.0)
        if not readable:
            continue
        try:
            if sock.recv(1, socket.MSG_PEEK) == b"":  # end of file, not a message being read
                os._exit(0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)


def _serve(conn: Connection) -> None:
    """Worker main loop: (env, doc, fmt, max_bytes) in; ('started',) once it has the file, then
    ('ok', bytes, s) | ('too_large', n, s) | ('error', exception, traceback); None or a closed pipe
    ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    threading.Thread(target=_exit_when_parent_goes, args=(conn.fileno(),), daemon=True).start()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        except Exception as exc:  # noqa: BLE001 - a document that does not unpickle here
            _send_error(conn, exc)
            continue
        if job is None:
            return
        conn.send(("started",))
        env, doc, fmt, max_bytes = job
        started = time.perf_counter()
        try:
            _apply_environment(env)
            data = render.renderer(fmt)(doc)
        except Exception as exc:  # noqa: BLE001 - raised again in the parent
            _send_error(conn, exc)
            continue
        seconds = time.perf_counter() - started
        if len(data) > max_bytes:
            conn.send(("too_large", len(data), seconds))
        else:
            conn.send(("ok", data, seconds))


def _send_error(conn: Connection, exc: Exception) -> None:
    trace = traceback.format_exc()
    try:
        conn.send(("error", exc, trace))
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
        conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}"), trace))


# ---------------------------------------------------------------------------------------------
# the parent side


class RenderJob:
    """One submitted file: `result()` is its bytes (or raises), `seconds` its render time."""

    def __init__(self, doc: ReportDocument, fmt: str, budget: Budget) -> None:
        self.doc, self.fmt, self.budget = doc, fmt, budget
        self.env = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIX)}
        self.future: Future[bytes] = Future()
        self.seconds = 0.0
        self.worker_pid: int | None = None

    def result(self, timeout: float | None = None) -> bytes:
        return self.future.result(timeout)

    def done(self) -> bool:
        return self.future.done()


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(PRELOAD))  # no effect once this process's forkserver runs
        return ctx
    return multiprocessing.get_context("spawn")


class _Slot:
    """One worker process and the thread that feeds it files from the pool's queue."""

    def __init__(self, pool: "RenderPool", index: int) -> None:
        self.pool, self.index = pool, index
        self.process: Any = None
        self.conn: Connection | None = None
        self.thread = threading.Thread(target=self._loop, name=f"render-slot-{index}", daemon=True)
        self.busy = False  # has a file (guarded by the pool's condition)

    # process lifecycle

    def alive(self) -> bool:
        process = self.process  # read once: the slot's thread may replace it meanwhile
        try:
            return process is not None and process.is_alive()
        except ValueError:  # closed meanwhile
            return False

    def start(self) -> None:
        parent, child = self.pool.ctx.Pipe(duplex=True)
        process = self.pool.ctx.Process(target=_serve, args=(child,), name=f"render-worker-{self.index}", daemon=True)
        process.start()
        child.close()
        self.process, self.conn = process, parent
        if not parent.poll(START_TIMEOUT_SECONDS):
            self.stop()
            raise RenderWorkerLost(f"the renderer process did not start within {START_TIMEOUT_SECONDS:g} s")
        try:
            parent.recv()  # ("ready", pid)
        except (EOFError, OSError):
            code = process.exitcode
            self.stop()
            raise RenderWorkerLost(f"the renderer process ended while starting (exit code {code})") from None

    def stop(self, *, polite: bool = False) -> None:
        process, conn, self.process, self.conn = self.process, self.conn, None, None
        if process is None:
            return
        if polite and conn is not None and process.is_alive():
            try:
                conn.send(None)
                process.join(STOP_GRACE_SECONDS)
            except (OSError, ValueError):
                pass
        if process.is_alive():
            process.kill()
            process.join(STOP_GRACE_SECONDS)
        if conn is not None:
            conn.close()
        if process.exitcode is not None:
            process.close()

    @property
    def pid(self) -> int | None:
        process = self.process
        try:
            return process.pid if process is not None and process.is_alive() else None
        except ValueError:
            return None

    # files

    def _loop(self) -> None:
        while True:
            job = self.pool._take(self)
            if job is None:
                self.stop(polite=True)
                return
            try:
                if not job.future.set_running_or_notify_cancel():
                    continue
                self._run(job)
            except RenderFailed as exc:  # not handed over (not picklable, no worker started)
                job.future.set_exception(exc)
            except BaseException as exc:  # noqa: BLE001 - never lose a job's answer, never lose the slot
                if not job.future.done():
                    job.future.set_exception(exc)
                self.stop()
            finally:
                self.pool._done(self)

    def _run(self, job: RenderJob) -> None:
        label = describe(job.doc, job.fmt)
        try:  # pickled here, once: a document that cannot cross is told apart from a worker fault
            payload = bytes(ForkingPickler.dumps((job.env, job.doc, job.fmt, job.budget.max_bytes)))
        except Exception as exc:  # noqa: BLE001
            raise RenderFailed(f"{label} could not be handed to the renderer process "
                               f"({type(exc).__name__}: {exc}); the document must be picklable") from exc
        for attempt in (1, 2):
            if not self.alive():
                self._restart(label)
            started = time.perf_counter()
            deadline = started + job.budget.seconds
            try:
                self.conn.send_bytes(payload)
                reply = self._wait(deadline)
                if reply is not None and reply[0] == "started":
                    job.worker_pid = self.process.pid
                    reply = self._wait(deadline)
                break
            except (EOFError, OSError):
                if attempt == 1 and job.worker_pid is None:
                    self.stop()  # it died before it took the file (killed while idle): a new one, once more
                    continue
                self._lost(job, label, started)
                return
        job.seconds = time.perf_counter() - started
        if reply is None:
            self.stop()
            self._replace()
            job.future.set_exception(RenderTimedOut(
                f"{label} did not finish in {job.budget.seconds:g} s (REPORTS_RENDER_TIMEOUT_SECONDS) and was "
                "stopped; narrow the request (a shorter period, fewer rows) or ask for CSV or XLSX, which render "
                "in a fraction of the time"))
        elif reply[0] == "ok":
            job.seconds = reply[2]
            job.future.set_result(reply[1])
        elif reply[0] == "too_large":
            job.seconds = reply[2]
            job.future.set_exception(RenderTooLarge(
                f"{label} came to {reply[1]:,} bytes, over the {job.budget.max_bytes:,}-byte limit "
                "(REPORTS_MAX_FILE_BYTES), and was not stored; narrow the request (a shorter period, fewer rows)"
                + ("" if job.fmt == "csv" else " or ask for CSV, the most compact format")))
        else:
            exc, trace = reply[1], reply[2]
            if isinstance(exc, BaseException):
                exc.add_note(f"raised in renderer process {job.worker_pid}:\n{trace}")
                job.future.set_exception(exc)
            else:
                job.future.set_exception(RenderFailed(f"{label} failed in the renderer process: {exc!r}"))

    def _restart(self, label: str) -> None:
        self.stop()
        try:
            self.start()
        except RenderWorkerLost as exc:
            raise RenderWorkerLost(f"{label} was not made: {exc}; retry, and if it recurs the run's stderr "
                                   "says why the renderer process could not start") from exc

    def _wait(self, deadline: float) -> tuple | None:
        """The worker's next message, or None when the deadline passes first; EOFError if it died."""
        if not self.conn.poll(max(deadline - time.perf_counter(), 0.0)):
            return None
        return self.conn.recv()

    def _lost(self, job: RenderJob, label: str, started: float) -> None:
        self.process.join(STOP_GRACE_SECONDS)
        code = self.process.exitcode
        self.stop()
        job.seconds = time.perf_counter() - started
        self._replace()
        job.future.set_exception(RenderWorkerLost(
            f"{label} was not made: the renderer process ended while rendering it ({_exit_text(code)}); "
            "a new one took its place, so a retry may succeed; if it recurs, narrow the request or ask "
            "for CSV or XLSX"))

    def _replace(self) -> None:
        """A fresh worker before the failure is told, so the next file does not wait for one (unless
        the pool is closing)."""
        if self.pool.closed:
            return
        try:
            self.start()
        except RenderFailed:
            pass  # the next file tries again and reports it


def _exit_text(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = ", e.g. by the out-of-memory killer" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {code}"


class RenderPool:
    """`workers` renderer processes, each rendering one file at a time under its budget."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"a render pool needs at least one worker, got {workers}")
        self.workers = workers
        self.ctx = _context()
        self.closed = False
        self._jobs: collections.deque[RenderJob] = collections.deque()
        self._stopping = False  # set by close(): idle slots end
        self._ready = threading.Condition()
        self._slots = [_Slot(self, i) for i in range(workers)]
        for slot in self._slots:
            slot.thread.start()

    def submit(self, doc: ReportDocument, fmt: str, budget: Budget | None = None) -> RenderJob:
        if self.closed:
            raise RuntimeError("this render pool is closed")
        render.renderer(fmt)  # an unknown format fails here, as it would in-process
        job = RenderJob(doc, fmt.strip().lower(), budget or Budget.from_settings())
        with self._ready:
            self._jobs.append(job)
            self._ready.notify_all()
        return job

    def _take(self, slot: _Slot) -> RenderJob | None:
        """The next file for `slot`, or None when the pool closes. A slot without a running worker
        waits while another slot with a running worker is idle: that one takes the file."""
        with self._ready:
            while True:
                if self._jobs and (slot.alive() or not any(
                        s is not slot and not s.busy and s.alive() for s in self._slots)):
                    slot.busy = True
                    job = self._jobs.popleft()
                    if self._jobs:  # the slots that deferred to this one may take the rest now
                        self._ready.notify_all()
                    return job
                if self._stopping and not self._jobs:
                    return None
                self._ready.wait(0.5)  # also notices a warm slot's worker that died while idle

    def _done(self, slot: _Slot) -> None:
        with self._ready:
            slot.busy = False
            self._ready.notify_all()

    def render(self, doc: ReportDocument, fmt: str, budget: Budget | None = None) -> bytes:
        return self.submit(doc, fmt, budget).result()

    def worker_pids(self) -> list[int]:
        """The live workers' process ids (a test kills one to see it replaced)."""
        return [pid for pid in (slot.pid for slot in self._slots) if pid is not None]

    def close(self, *, wait: bool = True) -> None:
        """Stop taking files and cancel the queued ones; `wait`: let the running ones finish, else
        kill the workers now (at interpreter exit)."""
        if self.closed:
            return
        self.closed = True
        with self._ready:
            while self._jobs:
                self._jobs.popleft().future.cancel()
            self._stopping = True
            self._ready.notify_all()
        for slot in self._slots:
            if wait:
                slot.thread.join()
                continue
            process = slot.process  # its thread may be stopping it right now
            try:
                if process is not None and process.is_alive():
                    process.kill()
            except ValueError:
                pass  # closed meanwhile
        if not wait:
            # let each slot's thread reap its killed worker: a process object multiprocessing's own
            # exit handler still holds must not be closed under it ("process object is closed")
            for slot in self._slots:
                slot.thread.join(STOP_GRACE_SECONDS + 1)

    def __enter__(self) -> "RenderPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# this process's shared pool

_shared: RenderPool | None = None
_shared_pid: int | None = None
_shared_lock = threading.Lock()


def shared_pool() -> RenderPool:
    """The pool of this process (REPORTS_RENDER_WORKERS workers), started on first use; a forked
    child gets its own, never its parent's."""
    global _shared, _shared_pid
    with _shared_lock:
        if _shared is None or _shared.closed or _shared_pid != os.getpid():
            _shared, _shared_pid = RenderPool(settings.render_workers()), os.getpid()
        return _shared


def close_shared_pool() -> None:
    global _shared
    with _shared_lock:
        pool, _shared = _shared, None
    if pool is not None and _shared_pid == os.getpid():
        pool.close(wait=False)


atexit.register(close_shared_pool)


def render_within_budget(doc: ReportDocument, fmt: str) -> bytes:
    """`render.render(doc, fmt)` in a worker process, under the environment's budget."""
    return shared_pool().render(doc, fmt, Budget.from_settings())
