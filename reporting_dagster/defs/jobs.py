"""The monthly pack: every partitioned asset, on day 1 at 06:00 UTC for the month that closed."""

import dagster as dg

monthly_reports = dg.define_asset_job(
    name="monthly_reports",
    selection=dg.AssetSelection.all().materializable() - dg.AssetSelection.groups("platform"),
    description="Extracts, report data and every report file for one billing period.",
)

monthly_reports_schedule = dg.build_schedule_from_partitioned_job(
    monthly_reports, hour_of_day=6, minute_of_hour=0, day_of_month=1,
    name="monthly_reports_schedule",
)
