"""Run retention for the Dagster instance itself: one run per report request adds up.

Dagster OSS purges old sensor and schedule ticks (dagster.yaml `retention`) but keeps every run
and its event log forever; this daily job deletes finished runs older than `keep_days`.
"""

import datetime as dt

import dagster as dg
from pydantic import Field

_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


class RunRetentionConfig(dg.Config):
    keep_days: int = Field(default=90, ge=0, description="finished runs older than this many days are deleted")
    batch: int = Field(default=500, ge=1, description="runs deleted per query page")


@dg.op
def delete_old_runs(context: dg.OpExecutionContext, config: RunRetentionConfig) -> dg.Output[int]:
    """Delete finished runs (and their event logs) created before the cutoff; never a running one."""
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=config.keep_days)
    deleted = 0
    while True:
        records = context.instance.get_run_records(
            filters=dg.RunsFilter(statuses=_FINISHED, created_before=cutoff), limit=config.batch)
        records = [r for r in records if r.dagster_run.run_id != context.run_id]
        if not records:
            break
        for record in records:
            context.instance.delete_run(record.dagster_run.run_id)
            deleted += 1
    return dg.Output(deleted, metadata={"deleted_runs": deleted, "cutoff": cutoff.isoformat()})


@dg.job(description="Delete finished Dagster runs older than 90 days (run retention).")
def dagster_run_retention():
    delete_old_runs()


dagster_run_retention_schedule = dg.ScheduleDefinition(
    job=dagster_run_retention, cron_schedule="45 3 * * *", execution_timezone="UTC",
    name="dagster_run_retention_schedule",
)
