"""Failed deliveries are tried again, with backoff, a bounded number of times.

`delivery_retry_sensor` (every minute) settles stale claims that cannot be retried, then asks
for one `redeliver_report` run per report with deliveries due (lib/delivery/retry.py), run key
per (report, round). The run delivers only what is due, sets the schedule's status from the
report's deliveries (completed again once none failed) and fails when a delivery failed again.
Defaults: 5 attempts, retries after 5, 10, 20 and 40 minutes (REPORTS_DELIVERY_MAX_ATTEMPTS,
REPORTS_DELIVERY_RETRY_BASE_SECONDS); a killed delivery is taken over after the 10 minute lease
(REPORTS_DELIVERY_LEASE_SECONDS). A scheduled report its run never delivered (the run died
after rendering, or its delivery step failed before claiming) gets a round too, once that run is
gone, when completed within the last 48 hours (lib/delivery/retry.py). With
REPORTS_PROCESS_REQUESTS off the sensor skips: the platform's processor owns those rows; and a
report whose file_path is not a key of its own row is never retried (lib/delivery/verify.py).
One report that cannot be handled is logged and the others go on.
"""

import datetime as dt

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from reporting_dagster.defs.delivery.step import run_delivery
from reporting_dagster.defs.requests.generate import REQUEST_TAG
from reporting_dagster.defs.resources import (
    PlatformDatabase,
    ReportMailer,
    ReportStore,
    RequestProcessing,
    delivery_policy_from_env,
)
from reporting_dagster.lib.delivery import outcome
from reporting_dagster.lib.delivery import retry as delivery_retry
from reporting_dagster.lib.operations.records import short_error

BATCH = 25  # reports per tick at most


class RedeliverConfig(dg.Config):
    generated_report_id: int = Field(description="the completed report whose due deliveries to try again")


@dg.op
def retry_delivery(context: dg.OpExecutionContext, config: RedeliverConfig, platform_db: PlatformDatabase,
                   report_store: ReportStore, report_mailer: ReportMailer, delivery_s3: S3Resource) -> None:
    """Try again the report's deliveries whose retry is due (and claims their killed run left)."""
    run_delivery(context, platform_db, report_store, report_mailer, delivery_s3,
                 report_id=config.generated_report_id, due_only=True)


@dg.job(tags={REQUEST_TAG: "requests"}, executor_def=dg.in_process_executor,
        description="Deliver a completed report again to the recipients whose delivery failed or was cut off.")
def redeliver_report():
    retry_delivery()


# targeted by name: no BetaWarning on load (defs/requests/sensors.py)
@dg.sensor(job_name=redeliver_report.name, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Retry failed report deliveries with backoff, deliveries whose run was killed, and "
                       "scheduled reports whose run stopped before delivering them.")
def delivery_retry_sensor(context: dg.SensorEvaluationContext, platform_db: PlatformDatabase,
                          report_mailer: ReportMailer, request_processing: RequestProcessing) -> dg.SensorResult:
    if not request_processing.enabled:  # the platform's processor owns the rows and their deliveries
        return dg.SensorResult(skip_reason=request_processing.off_reason)
    platform_db.check_access()
    policy = delivery_policy_from_env()
    engine = platform_db.engine
    for report_id in sorted(delivery_retry.settle_abandoned(engine, policy)):
        try:
            result = outcome.record_outcome(engine, report_mailer.mailer(), generated_report_id=report_id,
                                            sender=report_mailer.sender, reply_to=report_mailer.reply_to,
                                            policy=policy)
            context.log.info(f"generated_report {report_id}: abandoned deliveries settled; schedule {result.status}")
        except Exception as exc:  # noqa: BLE001 - one report never stops the others' retries
            context.log.error(f"generated_report {report_id}: its settled deliveries could not be recorded on its "
                              f"schedule: {short_error(exc)}; the other reports go on")
    now = dt.datetime.now(dt.timezone.utc)
    runs = []
    for due in delivery_retry.due_reports(engine, policy, limit=BATCH):
        try:
            problem = delivery_retry.not_ours(engine, due.generated_report_id)
            if problem:
                context.log.warning(f"generated_report {due.generated_report_id}: not retried, {problem} (the "
                                    "row was completed by another processor)")
                continue
            runs.append(dg.RunRequest(
                run_key=due.run_key(now, policy),
                run_config={"ops": {"retry_delivery": {"config": {"generated_report_id": due.generated_report_id}}}},
                tags={REQUEST_TAG: "requests", "delivery_of_report": str(due.generated_report_id),
                      "organization_id": str(due.organization_id),
                      "delivery_round": "missing" if due.rows is not None else str(due.round)},
            ))
        except Exception as exc:  # noqa: BLE001 - one report never stops the others' retries
            context.log.error(f"generated_report {due.generated_report_id}: its delivery retry could not be "
                              f"prepared: {short_error(exc)}; the other reports go on")
    if not runs:
        return dg.SensorResult(skip_reason="no delivery due for a retry")
    return dg.SensorResult(run_requests=runs)
