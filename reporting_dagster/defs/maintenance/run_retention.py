"""Run retention for the Dagster instance itself: one run per report request adds up.

Dagster OSS purges old sensor and schedule ticks (dagster.yaml `retention`) but keeps every run
and its event log forever; this daily job deletes finished runs older than `keep_days` that
materialized (or planned) no asset: request, retention and run-retention runs. Runs of asset
jobs (the monthly pack, backfills, maintenance) are the partitions' history — deleting one
deletes its materializations, and the month would look never made — so they are kept.
"""

import datetime as dt

import dagster as dg
from pydantic import Field

_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
_ASSET_EVENTS = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED}


class RunRetentionConfig(dg.Config):
    keep_days: int = Field(default=90, ge=0, description="finished runs older than this many days are deleted")
    batch: int = Field(default=500, ge=1, description="runs deleted per query page")


@dg.op
def delete_old_runs(context: dg.OpExecutionContext, config: RunRetentionConfig) -> dg.Output[int]:
    """Delete finished runs (and their event logs) created before the cutoff that touched no asset;
    never a running one, never this one."""
    instance = context.instance
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=config.keep_days)
    candidates, cursor = [], None
    while True:  # list first, then delete: a page cursor must not point at a deleted run
        records = instance.get_run_records(
            filters=dg.RunsFilter(statuses=_FINISHED, created_before=cutoff), limit=config.batch, cursor=cursor)
        if not records:
            break
        candidates += [r.dagster_run.run_id for r in records if r.dagster_run.run_id != context.run_id]
        cursor = records[-1].dagster_run.run_id
    deleted = kept = 0
    for run_id in candidates:
        if _touched_assets(instance, run_id):
            kept += 1
            continue
        instance.delete_run(run_id)
        deleted += 1
    return dg.Output(deleted, metadata={"deleted_runs": deleted, "kept_asset_runs": kept, "cutoff": cutoff.isoformat()})


def _touched_assets(instance: dg.DagsterInstance, run_id: str) -> bool:
    return any(instance.get_records_for_run(run_id, of_type=kind, limit=1).records for kind in _ASSET_EVENTS)


@dg.job(description="Delete finished Dagster runs older than 90 days that materialized no asset (run retention).")
def dagster_run_retention():
    delete_old_runs()


dagster_run_retention_schedule = dg.ScheduleDefinition(
    job=dagster_run_retention, cron_schedule="45 3 * * *", execution_timezone="UTC",
    name="dagster_run_retention_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,  # a fresh deployment runs it without a toggle
)
