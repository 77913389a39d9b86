"""The reporting_dagster code location."""

import dagster as dg

from reporting_dagster.defs import jobs, platform_tables
from reporting_dagster.defs.exports import (
    invoice_aging_report,
    invoice_comparison_report,
    invoice_expected_report,
    invoice_received_report,
    invoice_to_client_report,
    project_profitability_report,
    timesheet_report,
)
from reporting_dagster.defs.invoices import client_extracts, comparison, extracts, listings
from reporting_dagster.defs.maintenance import catalog, retention, run_retention, statistics
from reporting_dagster.defs.receivables import aging as receivables_aging
from reporting_dagster.defs.receivables import extracts as receivables_extracts
from reporting_dagster.defs.time import extracts as time_extracts
from reporting_dagster.defs.time import profitability as time_profitability
from reporting_dagster.defs.time import timesheet as time_timesheet
from reporting_dagster.defs.delivery import retry as delivery_retry
from reporting_dagster.defs.requests import failures, generate, sensors
from reporting_dagster.defs.resources import resources_from_env

defs = dg.Definitions(
    assets=[
        *platform_tables.platform_tables,
        *dg.load_assets_from_modules([
            extracts, comparison, invoice_comparison_report,
            client_extracts, listings, invoice_to_client_report, invoice_expected_report, invoice_received_report,
            receivables_extracts, receivables_aging, invoice_aging_report,
            time_extracts, time_timesheet, time_profitability, timesheet_report, project_profitability_report,
            catalog, statistics,
        ]),
    ],
    jobs=[jobs.monthly_reports, jobs.report_maintenance, generate.generate_report, retention.report_retention,
          retention.install_s3_lifecycle_rules, run_retention.dagster_run_retention,
          delivery_retry.redeliver_report],
    schedules=[jobs.monthly_reports_schedule, jobs.report_maintenance_schedule, retention.report_retention_schedule,
               run_retention.dagster_run_retention_schedule],
    sensors=[sensors.report_request_sensor, sensors.scheduled_report_sensor, failures.report_run_failure_sensor,
             failures.stuck_report_reaper, delivery_retry.delivery_retry_sensor],
    resources=resources_from_env(),
)
