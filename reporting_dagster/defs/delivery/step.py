"""The delivery step both jobs run: deliver, set the schedule's status, fail the step on failures.

A delivery that failed fails the step (after every recipient was tried) with a dg.Failure that
lists the failures, so the run shows it; the failed recipients are retried by
delivery_retry_sensor (defs/delivery/retry.py), not by Dagster's own retries, which have no
backoff and would repeat the render step's bookkeeping.
"""

from collections.abc import Sequence

import dagster as dg
from dagster_aws.s3 import S3Resource

from reporting_dagster.defs.resources import (
    PlatformDatabase,
    ReportMailer,
    ReportStore,
    delivery_buckets_from_env,
    delivery_policy_from_env,
)
from reporting_dagster.lib.delivery import deliver as delivery
from reporting_dagster.lib.delivery import outcome


def run_delivery(context: dg.OpExecutionContext, platform_db: PlatformDatabase, report_store: ReportStore,
                 report_mailer: ReportMailer, delivery_s3: S3Resource, *, report_id: int,
                 recipients: Sequence[str] | None = None, due_only: bool = False) -> None:
    policy = delivery_policy_from_env()
    engine = platform_db.engine
    mailer = report_mailer.mailer()
    with platform_db.beating(context.run.run_id):  # holds claims: the lease knows this run is alive
        try:
            summary = delivery.deliver_report(
                engine, report_store.store(), mailer, generated_report_id=report_id,
                s3_client=delivery_s3.get_client(), sender=report_mailer.sender, reply_to=report_mailer.reply_to,
                run_id=context.run.run_id, recipients=list(recipients) if recipients else None,
                allowed_buckets=delivery_buckets_from_env(), policy=policy, due_only=due_only,
            )
        except delivery.NotDeliverable as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        result = outcome.record_outcome(engine, mailer, generated_report_id=report_id, sender=report_mailer.sender,
                                        reply_to=report_mailer.reply_to, run_id=context.run.run_id, policy=policy)
    metadata = {"generated_report_id": report_id, **summary.as_metadata(), **result.as_metadata()}
    if result.notices_sent:
        context.log.info(f"generated_report {report_id}: delivery failing; {result.notices_sent} owners notified")
    if summary.failed:
        raise dg.Failure(description=f"generated_report {report_id}: {summary.failure_text()}",
                         metadata=metadata, allow_retries=False)
    context.add_output_metadata(metadata)
