"""`generate_report`: one report for one organization from one generated_report row, then delivery.

Sensors launch it with `generated_report_id`, or with `generated_report_ids` when the queue is
backed up (lib/requests/batch.py): each row of a batch is then made, recorded and delivered on
its own, one after the other under the run's heartbeat, and a row that fails fails alone — the
run fails at the end, naming the rows that did. From the launchpad it can instead create the
row itself from a template (the organization is the template's), a billing period (default:
the latest completed one) and overrides.
"""

import datetime as dt
from typing import Optional

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from reporting_dagster.defs.delivery.step import run_delivery
from reporting_dagster.defs.resources import PlatformDatabase, ReportMailer, ReportStore
from reporting_dagster.lib.delivery import deliver as delivery
from reporting_dagster.lib.operations.records import short_error
from reporting_dagster.lib.requests import queue as request_queue
from reporting_dagster.lib.requests.validate import InvalidRequest, launchpad_request
from reporting_dagster.lib.requests.run import RunOutcome, run_request

REQUEST_TAG = "reporting/queue"


class GenerateReportConfig(dg.Config):
    generated_report_id: int | None = Field(default=None, description="the generated_report row to render")
    generated_report_ids: list[int] = Field(default_factory=list,
                                            description="a batch of generated_report rows, each on its own")
    template_id: int | None = Field(default=None, description="launchpad: create the row from this report_template")
    billing_period: str | None = Field(default=None, description="launchpad: YYYY-MM (default: latest completed)")
    file_format: str | None = Field(default=None, description="launchpad: override the template's format")
    contract_id: int | None = Field(default=None, description="launchpad: only this contract")
    project_id: int | None = Field(default=None, description="launchpad: only this project")
    parameters: dict[str, str] = Field(default_factory=dict, description="launchpad: catalogue parameters")


@dg.op(out=dg.Out(dict), tags={"kind": "pdf"})
def render_report(context: dg.OpExecutionContext, config: GenerateReportConfig, platform_db: PlatformDatabase,
                  report_store: ReportStore, report_mailer: ReportMailer) -> dict:
    """Claim the row, validate it, render, store, record. Returns {"completed": the rows to
    deliver, "problems": row id → why it was not completed (a batch's; a run of one raises)}."""
    if config.generated_report_ids and (config.generated_report_id is not None or config.template_id is not None):
        raise dg.Failure("give generated_report_ids alone, not with generated_report_id or template_id",
                         allow_retries=False)
    if len(config.generated_report_ids) > 1 and _recipients(context):
        # refused before any row is claimed: the override would e-mail every row's report (every
        # tenant's, in a batch of several organizations) to the same addresses
        raise dg.Failure("deliver_report recipients apply to one report: give them with one generated_report_id, "
                         "not a batch of several generated_report_ids", allow_retries=False)
    platform_db.check_access()
    with platform_db.beating(context.run.run_id):  # the reaper's sign that the claimed rows are still worked on
        if config.generated_report_ids:
            return _render_batch(context, list(config.generated_report_ids), platform_db, report_store,
                                 report_mailer)
        done = _render_report(context, config, platform_db, report_store, report_mailer)
        return {"completed": [] if done is None else [done], "problems": {}}


def _recipients(context: dg.OpExecutionContext) -> list:
    """The run's deliver_report `recipients` override (launchpad), if any."""
    ops = (context.run_config or {}).get("ops") or {}
    return list(((ops.get("deliver_report") or {}).get("config") or {}).get("recipients") or [])


def _render_batch(context: dg.OpExecutionContext, report_ids: list[int], platform_db: PlatformDatabase,
                  report_store: ReportStore, report_mailer: ReportMailer) -> dict:
    """Each row as a run of one would make it; a row that fails (or raises before its outcome is
    known: it stays as it was, for the run-failure sensor and the reaper) never stops the next."""
    engine, store = platform_db.engine, report_store.store()
    done: list[int] = []
    problems: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    for report_id in report_ids:
        try:
            outcome = _run_one(context, engine, store, platform_db, report_mailer, report_id,
                               context.run.parent_run_id)
        except Exception as exc:  # noqa: BLE001 - this row's trouble; the batch goes on
            problems[str(report_id)] = short_error(exc)
            outcomes[str(report_id)] = "error"
            context.log.error(f"generated_report {report_id}: {short_error(exc)}")
            continue
        outcomes[str(report_id)] = outcome.outcome
        if outcome.outcome in ("invalid", "failed", "lost"):
            problems[str(report_id)] = outcome.message
            context.log.error(f"generated_report {report_id}: {outcome.outcome}: {outcome.message}")
            continue
        context.log.info(f"generated_report {report_id}: {outcome.outcome}: {outcome.message}")
        if outcome.outcome == "completed":
            done.append(report_id)
    meta = {"generated_report_ids": report_ids, "outcomes": outcomes, "completed": len(done)}
    if problems:
        # the completed rows are delivered first; the run then fails naming the others
        context.log.warning(f"{len(problems)} of {len(report_ids)} rows not completed: {problems}")
        meta["problems"] = problems
    context.add_output_metadata(meta)
    return {"completed": done, "problems": problems}


def _run_one(context: dg.OpExecutionContext, engine, store, platform_db: PlatformDatabase,
             report_mailer: ReportMailer, report_id: int, parent_run_id: str | None) -> RunOutcome:
    """One row's lifecycle (lib/requests/run.py), then its schedule's outcome and failure notice."""
    outcome = run_request(engine, store, platform_db.extract, report_id, run_id=context.run.run_id,
                          parent_run_id=parent_run_id)
    if _record_schedule(engine, outcome):
        try:
            sent = delivery.notify_failure(engine, report_mailer.mailer(), generated_report_id=report_id,
                                           sender=report_mailer.sender, reply_to=report_mailer.reply_to)
            context.log.info(f"schedule {outcome.scheduled_report_id} started failing: {sent} owners notified")
        except Exception as exc:  # noqa: BLE001 - the row's outcome is recorded; the run says what it was
            context.log.error(f"schedule {outcome.scheduled_report_id} started failing; its owners were not "
                              f"told: {short_error(exc)}")
    return outcome


def _render_report(context: dg.OpExecutionContext, config: GenerateReportConfig, platform_db: PlatformDatabase,
                   report_store: ReportStore, report_mailer: ReportMailer) -> Optional[int]:
    engine = platform_db.engine
    report_id = config.generated_report_id
    parent_run_id = context.run.parent_run_id
    if report_id is None and parent_run_id:
        # a re-executed launchpad run continues the row its first run created (no second report)
        report_id = request_queue.report_of_run(engine, [parent_run_id, context.run.root_run_id])
    if report_id is None:
        if config.template_id is None:
            raise dg.Failure("give generated_report_id, or template_id to create a request", allow_retries=False)
        try:
            report_id = request_queue.create_request(engine, **launchpad_request(
                engine, template_id=config.template_id, billing_period=config.billing_period,
                file_format=config.file_format, contract_id=config.contract_id, project_id=config.project_id,
                parameters=dict(config.parameters),
                today=dt.datetime.now(dt.timezone.utc).date()))
        except InvalidRequest as exc:
            raise dg.Failure(str(exc), allow_retries=False) from None
        context.log.info(f"created generated_report {report_id} from template {config.template_id}")
    outcome = _run_one(context, engine, report_store.store(), platform_db, report_mailer, report_id, parent_run_id)
    context.add_output_metadata(_metadata(outcome))
    if outcome.outcome in ("invalid", "failed", "lost"):
        # No automatic retry follows: the op has no RetryPolicy, and run retries (dagster.yaml
        # retry_on_asset_or_op_failure: false) retry lost workers, not failed ops. A re-execution
        # by hand may take a row this op failed itself; never one failed from outside the run
        # (lost: the reaper failed it, or it was set back to pending — sql claim_report).
        raise dg.Failure(description=f"generated_report {report_id}: {outcome.message}",
                         metadata=_metadata(outcome))
    context.log.info(f"generated_report {report_id}: {outcome.outcome}: {outcome.message}")
    return report_id if outcome.outcome == "completed" else None


class DeliverConfig(dg.Config):
    recipients: list[str] = Field(default_factory=list,
                                  description="launchpad: also e-mail the report to these addresses")


@dg.op
def deliver_report(context: dg.OpExecutionContext, config: DeliverConfig, rendered: dict,
                   platform_db: PlatformDatabase,
                   report_store: ReportStore, report_mailer: ReportMailer, delivery_s3: S3Resource) -> None:
    """E-mail and/or copy each completed file per its schedule; each (channel, recipient) at most
    once. Fails (after trying every recipient of every row) when a delivery failed, or when a row
    of the batch was not completed; the retry sensor tries failed deliveries again."""
    report_ids = list(rendered["completed"])
    failures: list[str] = []
    alone = len(report_ids) == 1 and not rendered["problems"]  # a run of one fails as it always did
    if config.recipients and len(report_ids) + len(rendered["problems"]) > 1:  # render_report refuses it first
        raise dg.Failure("deliver_report recipients apply to one report, not a batch", allow_retries=False)
    s3 = _LazyS3(delivery_s3)
    for report_id in report_ids:
        try:
            run_delivery(context, platform_db, report_store, report_mailer, s3, report_id=report_id,
                         recipients=list(config.recipients) or None)
        except dg.Failure as exc:
            if alone:
                raise
            failures.append(exc.description or f"generated_report {report_id}: delivery failed")
        except Exception as exc:  # noqa: BLE001 - one row's delivery must not stop the next
            if alone:
                raise
            failures.append(f"generated_report {report_id}: delivery failed: {short_error(exc)}")
    failures.extend(f"generated_report {rid}: {why}" for rid, why in rendered["problems"].items())
    if failures:
        raise dg.Failure(description="; ".join(failures), allow_retries=False)


class _LazyS3:
    """The delivery S3 resource, whose client is made on first use and then shared by the rows of
    the run: botocore takes ~0.3 s (more on a busy machine) to make one, and most rows are
    e-mailed or not delivered at all (bench/requests.py: it was most of the delivery step)."""

    def __init__(self, resource: S3Resource) -> None:
        self._resource, self._client = resource, None

    def get_client(self) -> "_LazyS3":
        return self

    def __getattr__(self, name: str):  # a client call: the real client, made once
        if self._client is None:
            self._client = self._resource.get_client()
        return getattr(self._client, name)


def _record_schedule(engine, outcome: RunOutcome) -> bool:
    """Update the schedule's last run; True when this failure starts a failure streak."""
    if outcome.scheduled_report_id is None or outcome.outcome in ("skipped", "lost"):
        return False
    status = "completed" if outcome.outcome == "completed" else "failed"
    return request_queue.record_schedule_outcome(
        engine, scheduled_report_id=outcome.scheduled_report_id, generated_report_id=outcome.generated_report_id,
        status=status, error=None if status == "completed" else outcome.message)


def _metadata(outcome: RunOutcome) -> dict:
    meta = {"generated_report_id": outcome.generated_report_id, "outcome": outcome.outcome,
            "message": outcome.message, "seconds": round(outcome.seconds, 3)}
    if outcome.request is not None:
        meta.update({"report_type": outcome.request.report_type, "file_format": outcome.request.file_format,
                     "organization_id": outcome.request.organization_id, "period": outcome.request.span.name})
    if outcome.stored is not None:
        meta.update({"uri": outcome.stored.uri, "bytes": outcome.stored.size, "sha256": outcome.stored.sha256,
                     "records": outcome.record_count})
    return meta


@dg.job(tags={REQUEST_TAG: "requests"}, executor_def=dg.in_process_executor,
        description="Render one requested or scheduled report (a generated_report row) and deliver it.")
def generate_report():
    deliver_report(render_report())
