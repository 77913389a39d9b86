"""Which executor runs the monthly pack's steps, chosen once from the environment (README
"Production: across machines"); assets never know.

`REPORTS_EXECUTOR`:
- `in_process` (default; the demo): every step in the run's process. A step in its own process
  pays Dagster's imports again, and on one small machine that costs more than it saves.
- `multiprocess`: each step in a child process on the run's machine (`REPORTS_EXECUTOR_MAX_CONCURRENT`
  at a time, default the cores), so the export chunks of a month render side by side. The children
  are forked from a forkserver that has imported the code location once (`PRELOAD`), so a step
  does not pay Dagster's and the project's imports again.
- `celery`: each step is a Celery task (dagster-celery) that any worker listening on the queue
  runs: `REPORTS_CELERY_BROKER_URL` (redis://… or amqp://…, required), `REPORTS_CELERY_BACKEND_URL`
  (default: the broker when it is Redis, else `rpc://`), `REPORTS_CELERY_QUEUE` (default `dagster`).
  The workers need the same code, environment and Dagster instance (DAGSTER_HOME) as the run.
"""

from __future__ import annotations

import os

import dagster as dg

from reporting_dagster.lib.infra.env import env_number

EXECUTOR_VARIABLE = "REPORTS_EXECUTOR"
EXECUTORS = ("in_process", "multiprocess", "celery")
DEFAULT_QUEUE = "dagster"
PRELOAD = ["reporting_dagster.definitions"]  # what a multiprocess step would otherwise import itself


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def executor_name() -> str:
    name = (_env(EXECUTOR_VARIABLE) or "in_process").lower()
    if name not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_VARIABLE}={name!r}: choose one of {', '.join(EXECUTORS)}")
    return name


def celery_config() -> dict:
    """The celery_executor config, also what `dagster-celery worker start -y` reads (under
    `execution: config:`), so the run and its workers agree on broker, backend and queue. The URLs
    stay `{env: …}` references, resolved where they are used: a password in them is never shown."""
    broker = _env("REPORTS_CELERY_BROKER_URL")
    if not broker:
        raise ValueError(f"{EXECUTOR_VARIABLE}=celery needs REPORTS_CELERY_BROKER_URL (redis://host:6379/0 or "
                         "amqp://user:password@host:5672//)")
    if _env("REPORTS_CELERY_BACKEND_URL"):
        backend: dict | str = {"env": "REPORTS_CELERY_BACKEND_URL"}
    else:  # Redis is its own result backend; an AMQP broker returns results over rpc://
        backend = {"env": "REPORTS_CELERY_BROKER_URL"} if broker.startswith(("redis://", "rediss://")) else "rpc://"
    queue = _env("REPORTS_CELERY_QUEUE") or DEFAULT_QUEUE
    return {"broker": {"env": "REPORTS_CELERY_BROKER_URL"}, "backend": backend,
            "config_source": {"task_default_queue": queue}}


def executor_from_env() -> dg.ExecutorDefinition:
    name = executor_name()
    if name == "multiprocess":
        workers = int(env_number("REPORTS_EXECUTOR_MAX_CONCURRENT", 0, integer=True, minimum=0))
        return dg.multiprocess_executor.configured(
            {"max_concurrent": workers, "start_method": {"forkserver": {"preload_modules": PRELOAD}}},
            name="multiprocess")
    if name == "celery":
        from dagster_celery import celery_executor  # only a celery deployment imports celery

        return celery_executor.configured(celery_config(), name="celery")
    return dg.in_process_executor
