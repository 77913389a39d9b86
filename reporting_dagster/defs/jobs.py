"""Jobs and schedules.

- `monthly_reports`: every partitioned asset (extracts, report data, report files), on day 1 at
  06:00 UTC for the month that just closed.
- `report_maintenance`: the report catalogue and the standard templates, daily at 05:00 UTC, so
  organizations created since yesterday have their templates before the monthly pack runs.
"""

import dagster as dg

from reporting_dagster.defs.executors import executor_from_env
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

monthly_reports_schedule = dg.build_schedule_from_partitioned_job(
    monthly_reports, hour_of_day=6, minute_of_hour=0, day_of_month=1,
    name="monthly_reports_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,  # a fresh deployment runs it without a toggle
)

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
