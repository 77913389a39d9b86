"""Jobs and schedules.

- `monthly_reports`: every partitioned asset (extracts, report data, report files), on day 1 at
  06:00 UTC for the month that just closed.
- `report_maintenance`: the report catalogue and the standard templates, daily at 05:00 UTC, so
  organizations created since yesterday have their templates before the monthly pack runs.
"""

import dagster as dg

from reporting_dagster.defs.executors import executor_from_env
from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.exports.common import chunk_organizations

MAINTENANCE = dg.AssetSelection.groups("maintenance")

# The executor is chosen here, from REPORTS_EXECUTOR (defs/executors.py): in process by default,
# since a step in its own process pays ~4 s of imports (measured on 2 cores: 53 s in process vs
# 107 s multiprocess for one month, before the exports were chunked); `multiprocess` or `celery`
# spread each export's chunks of organizations over processes or machines (README "Production:
# across machines"). Backfills also get parallelism from concurrent runs (dagster.yaml run queue).
chunk_organizations()  # a bad REPORTS_EXPORT_CHUNK_ORGANIZATIONS stops the load, not a run
monthly_reports = dg.define_asset_job(
    name="monthly_reports",
    selection=dg.AssetSelection.all().materializable() - MAINTENANCE,
    description="Extracts, report data and every report file for one billing period.",
    executor_def=executor_from_env(),
)

@dg.schedule(
    job=monthly_reports, cron_schedule="0 6 1 * *", execution_timezone="UTC", name="monthly_reports_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,  # a fresh deployment runs it without a toggle
    description="The monthly pack for the month that has just closed, on day 1 at 06:00 UTC.",
)
def monthly_reports_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """The newest billing_period key at the tick (the month just ended). Written out rather than
    `build_schedule_from_partitioned_job`, whose ticks go through a deprecated Dagster call and
    print a DeprecationWarning every month."""
    keys = billing_period.get_partition_keys(current_time=context.scheduled_execution_time)
    if not keys:
        return dg.SkipReason("no completed billing period yet (REPORTS_FIRST_BILLING_PERIOD is in the future)")
    return dg.RunRequest(run_key=keys[-1], partition_key=keys[-1])

report_maintenance = dg.define_asset_job(
    name="report_maintenance",
    selection=MAINTENANCE,
    description="Sync the report catalogue to report_definition and seed missing standard templates.",
)

report_maintenance_schedule = dg.ScheduleDefinition(
    job=report_maintenance, cron_schedule="0 5 * * *", execution_timezone="UTC",
    name="report_maintenance_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,  # a fresh deployment runs it without a toggle
)
