"""Delivering a completed report: e-mail to recipients and a copy to an S3 destination.

Every (report, channel, recipient) is claimed in `report_delivery` before anything is sent and
finalised after (lib/delivery/attempts.py: leases, retries, at most once after hand-over), so a
retried or concurrent run never sends the same report to the same recipient twice, and a
recipient whose attempt failed can be retried alone. Before anything is sent the file is checked
against its row (lib/delivery/verify.py). Boundaries: at most `DeliveryPolicy.max_recipients`
recipients per schedule; S3 copies only into the buckets of REPORTS_S3_DELIVERY_BUCKETS (required:
unset, S3 delivery is refused) and only under `<prefix>/<organization_id>/`, the prefix holding
no other organization's id (`s3_target`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.delivery.attempts import (  # noqa: F401 - DeliveryOutcome/Summary re-exported
    Attempts,
    DeliveryError,
    DeliveryOutcome,
    DeliverySummary,
    refuse,
)
from reporting_dagster.lib.delivery.mail import (
    ATTACHMENT_LIMIT_BYTES,
    Handover,
    Mailer,
    Recipient,
    ReplyLost,
    build_failure_notice,
    build_report_message,
    parse_recipients,
)
from reporting_dagster.lib.delivery.filenames import content_disposition, download_name, period_text
from reporting_dagster.lib.delivery.key_figures import key_figures, load_summary
from reporting_dagster.lib.delivery.policy import DeliveryPolicy
from reporting_dagster.lib.delivery.verify import ReportFile
from reporting_dagster.lib.infra.paths import read_named_sql
from reporting_dagster.lib.requests.parameters import readable_parameters
from reporting_dagster.lib.infra.store import Store
from reporting_dagster.lib.operations.records import loads

_SQL = read_named_sql("delivery.sql")

CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "pdf": "application/pdf",
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FAILURE_NOTICE_PREFIX = "failure-notice:"
DELIVERY_NOTICE_PREFIX = "delivery-notice:"
S3_DELIVERY_OFF = ("S3 delivery is off: set REPORTS_S3_DELIVERY_BUCKETS to the comma-separated buckets "
                   "schedules may deliver to")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NUMBER = re.compile(r"^[0-9]+$")


class NotDeliverable(ValueError):
    """The report cannot be delivered (missing, not completed, no file)."""


def load_report(engine: Engine, generated_report_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.text(_SQL["report_for_delivery"]), {"id": generated_report_id}).mappings().first()
    if row is None:
        raise NotDeliverable(f"generated_report {generated_report_id} does not exist")
    # a nested or huge parameters value never reaches a JSON parser's recursion limit here
    return {**row, "parameters": readable_parameters(row["parameters"])}


def period_label(report: dict[str, Any]) -> str:
    """The period a person recognises: the date range of a range report, else the billing period."""
    params = loads(report.get("parameters")) or {}
    if isinstance(params, dict) and params.get("date_from") and params.get("date_to"):
        return f"{params['date_from']} to {params['date_to']}"
    if report.get("period_name"):
        return str(report["period_name"])
    if report.get("period_start"):
        return f"{report['period_start']:%B %Y}"
    if isinstance(params, dict) and params.get("as_of_date"):
        return f"as of {params['as_of_date']}"
    return "no period"


def readable_filename(report: dict[str, Any]) -> str:
    """The name a person sees for the report's file (lib/delivery/filenames.py): the same one
    the export gave the stored object, built from the row's organization, type and period."""
    params = loads(report.get("parameters")) or {}
    params = params if isinstance(params, dict) else {}
    if params.get("date_from") and params.get("date_to"):
        period = period_text(params["date_from"], params["date_to"])
    elif report.get("period_start"):
        period = period_text(report["period_start"], report.get("period_end"))
    elif params.get("as_of_date"):
        period = f"as of {params['as_of_date']}"
    else:
        period = ""
    extension = str(report.get("file_path") or "").rsplit(".", 1)[-1] or str(report.get("file_format") or "")
    return download_name(report["organization_name"], report["report_type"], period, extension)


def parse_s3_destination(destination: str) -> tuple[str, str]:
    """`s3://bucket/prefix` or `bucket/prefix` → (bucket, prefix without slashes at either end)."""
    text = (destination or "").strip()
    if text.lower().startswith("s3://"):
        text = text[5:]
    bucket, _, prefix = text.partition("/")
    if not _BUCKET.match(bucket):
        raise DeliveryError(f"invalid S3 destination bucket {bucket!r}")
    prefix = prefix.strip("/")
    if any(part in (".", "..") for part in prefix.split("/")):
        raise DeliveryError("invalid S3 destination prefix")
    return bucket, prefix


def destination_key(report: dict[str, Any], prefix: str) -> str:
    """<prefix>/<organization_id>/<YYYY>/<MM>/<file name of the report key>; YYYY/MM of the period."""
    path = report["file_path"]
    match = re.search(r"(?:^|/)(\d{4})/(\d{2})/[^/]+$", path)
    if match:
        year, month = match.groups()
    else:
        when = report.get("period_start") or report.get("created_at") or dt.datetime.now(dt.timezone.utc)
        year, month = f"{when:%Y}", f"{when:%m}"
    name = path.rsplit("/", 1)[-1]
    key = f"{int(report['organization_id'])}/{year}/{month}/{name}"
    return f"{prefix}/{key}" if prefix else key


def s3_target(report: dict[str, Any], allowed_buckets: Collection[str] | None) -> tuple[str, str]:
    """(bucket, prefix) of the schedule's s3_destination, inside the tenant's boundaries.

    The allow-list is required: without one no bucket is allowed. The copy's key is always
    `<prefix>/<organization_id>/<YYYY>/<MM>/<file>` (`destination_key`), and the prefix itself may
    hold no number segment but the organization's own id: numbers in these paths name
    organizations (the store's `reports/<id>/…`), so `reports/2` is refused for organization 1.
    """
    if not allowed_buckets:
        raise DeliveryError(S3_DELIVERY_OFF)
    bucket, prefix = parse_s3_destination(report["s3_destination"] or "")
    if bucket not in allowed_buckets:
        raise DeliveryError(f"bucket {bucket!r} is not an allowed delivery bucket (REPORTS_S3_DELIVERY_BUCKETS)")
    org = int(report["organization_id"])
    other = next((part for part in prefix.split("/") if _NUMBER.match(part) and int(part) != org), None)
    if other is not None:
        raise DeliveryError(f"the s3_destination prefix {prefix!r} holds the number {other!r}: number segments "
                            f"name organizations and this schedule is organization {org}'s; copies always go "
                            f"under <prefix>/{org}/, so name the prefix without another organization's id")
    return bucket, prefix


def _copy_to_s3(s3_client: Any, bucket: str, key: str, data: bytes, content_type: str,
                filename: str | None = None) -> str:
    """Written once (If-None-Match): a retry after a kill finds its own object and counts it.
    `filename`: the readable name a download of the copy carries (Content-Disposition)."""
    from botocore.exceptions import ClientError

    named = {"ContentDisposition": content_disposition(filename)} if filename else {}
    try:
        response = s3_client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type,
                                        IfNoneMatch="*", **named)
        return str(response.get("ETag", "")).strip('"')
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            raise
    existing = s3_client.get_object(Bucket=bucket, Key=key)
    if hashlib.sha256(existing["Body"].read()).digest() != hashlib.sha256(data).digest():
        raise DeliveryError(f"a different object already exists at s3://{bucket}/{key}")
    return str(existing.get("ETag", "")).strip('"')  # the same file is already there: delivered


def deliver_report(
    engine: Engine,
    store: Store,
    mailer: Mailer | None,
    *,
    generated_report_id: int,
    s3_client: Any = None,
    sender: str,
    reply_to: str | None,
    link_expiry_seconds: int = 86400,
    recipients: Sequence[Any] | None = None,
    run_id: str | None = None,
    attachment_limit: int = ATTACHMENT_LIMIT_BYTES,
    policy: DeliveryPolicy | None = None,
    due_only: bool = False,
    allowed_buckets: Collection[str] | None = None,
) -> DeliverySummary:
    """Deliver a completed report per its schedule's delivery_method and recipients.

    `recipients` (addresses or {email, name}) overrides the schedule's list and makes on-demand
    reports deliverable by e-mail. `due_only`: only the deliveries whose retry is due (and stale
    claims), as the retry sensor's runs do. `allowed_buckets` None or empty: S3 delivery refused.
    """
    policy = policy or DeliveryPolicy()
    report = load_report(engine, generated_report_id)
    if report["report_status"] != "completed" or not report["file_path"]:
        raise NotDeliverable(f"generated_report {generated_report_id} is {report['report_status']}, "
                             "only completed reports with a file are delivered")
    summary = DeliverySummary(generated_report_id)
    channels = {"email": {"email"}, "s3": {"s3"}, "both": {"email", "s3"}}.get(report["delivery_method"] or "", set())
    if recipients is not None:
        channels.add("email")
    attempts = Attempts(engine, report, summary, run_id, policy, due_only=due_only)
    content_type = CONTENT_TYPES.get(report["file_format"], "application/octet-stream")
    file = ReportFile(engine, store, report)
    filename = readable_filename(report)
    listed = list(recipients) if recipients is not None else report["recipients"]
    if due_only and report["scheduled_report_id"] is None:
        # an on-demand report's recipients were given by its run: its retry round takes them from the
        # due rows. A scheduled report's are the schedule's: one it no longer lists is not retried.
        base = parse_recipients(listed)[0]
        known = {r.key for r in base}
        extra = [recipient for channel, recipient in attempts.due() if channel == "email" and recipient not in known]
        if extra:
            listed = [*({"email": r.email, "name": r.name} for r in base), *extra]
            channels.add("email")

    if "s3" in channels:
        _deliver_s3(attempts, report, s3_client, file.data, content_type, allowed_buckets, filename)
    if "email" in channels and mailer is not None:
        valid, invalid = parse_recipients(listed)
        for raw, reason in invalid:
            attempts.run("email", raw or "(empty)", refuse(f"invalid recipient: {reason}"), audit=False)
        cap = policy.max_recipients
        for recipient in valid[cap:]:
            attempts.run("email", recipient.key, refuse(
                f"over the recipient limit: the schedule lists {len(valid)} valid recipients and only the first "
                f"{cap} get the report (REPORTS_DELIVERY_MAX_RECIPIENTS)"), audit=False)
        url = store.url(report["file_path"], expires_in=link_expiry_seconds, download_name=filename)
        figures = key_figures(load_summary(report.get("summary_data")))
        expires_hours = None if url.startswith("file:") else max(1, round(link_expiry_seconds / 3600))

        def email_to(recipient: Recipient) -> Callable[[Handover], str]:
            def action(handover: Handover) -> str:
                payload = file.data()  # checked against the row even when only a link is sent
                attachment = None
                if len(payload) <= attachment_limit:
                    attachment = (filename, payload, content_type)
                message = build_report_message(
                    sender=sender, reply_to=reply_to, recipient=recipient, report_name=report["name"],
                    organization_name=report["organization_name"], period_label=period_label(report),
                    file_format=report["file_format"], download_url=url, link_expires_hours=expires_hours,
                    attachment=attachment, key_figures=figures,
                )
                return mailer.send(message, handover)
            return action

        for recipient in valid[:cap]:
            attempts.run("email", recipient.key, email_to(recipient))
    elif "email" in channels:
        summary.skipped.append(DeliveryOutcome("email", "*", "no mailer configured"))
    if due_only and mailer is not None:
        attempts.drop_unreachable()  # else a round would be launched for them again and again
    return summary


def _deliver_s3(attempts: Attempts, report: dict[str, Any], s3_client: Any, data: Callable[[], bytes],
                content_type: str, allowed_buckets: Collection[str] | None, filename: str) -> None:
    destination = report["s3_destination"] or ""
    try:
        bucket, prefix = s3_target(report, allowed_buckets)
    except DeliveryError as exc:
        attempts.run("s3", destination.strip() or "(no s3_destination)", refuse(str(exc)), audit=False)
        return
    key = destination_key(report, prefix)
    if s3_client is None:
        attempts.run("s3", f"s3://{bucket}/{key}", refuse("no S3 client configured for delivery"), audit=False)
        return
    attempts.run("s3", f"s3://{bucket}/{key}",
                 lambda handover: _copy_to_s3(s3_client, bucket, key, data(), content_type, filename))


def notify_failure(
    engine: Engine,
    mailer: Mailer,
    *,
    generated_report_id: int,
    sender: str,
    reply_to: str | None,
    run_id: str | None = None,
    policy: DeliveryPolicy | None = None,
) -> int:
    """Send the failure notice to the schedule's recipients; return how many were sent now.

    The claim (channel 'email', recipient 'failure-notice:<address>') makes it at most one notice
    per report and recipient, and keeps it apart from the report's own delivery should the same
    row later be retried and completed. Whether this failure starts a streak is the caller's call.
    """
    report = load_report(engine, generated_report_id)
    if report["scheduled_report_id"] is None:
        return 0

    def notice(recipient: Recipient) -> Any:
        return build_failure_notice(
            sender=sender, reply_to=reply_to, recipient=recipient,
            schedule_name=report["schedule_name"] or report["name"],
            organization_name=report["organization_name"], period_label=period_label(report),
            error=report["processing_error"] or "unknown error")

    return send_notices(engine, mailer, report, FAILURE_NOTICE_PREFIX, notice, run_id=run_id,
                        policy=policy or DeliveryPolicy())


def send_notices(engine: Engine, mailer: Mailer, report: dict[str, Any], prefix: str,
                 build: Callable[[Recipient], Any], *, run_id: str | None, policy: DeliveryPolicy) -> int:
    """One notice per schedule recipient (the first max_recipients), each its own claimed row
    '<prefix><address>' that records whether it went out; never retried on its own."""
    summary = DeliverySummary(int(report["id"]))
    attempts = Attempts(engine, report, summary, run_id, policy)
    valid, invalid = parse_recipients(report["recipients"])
    for raw, reason in invalid:
        attempts.run("email", prefix + (raw or "(empty)"), refuse(f"invalid recipient: {reason}"),
                     audit=False, notice=True)
    sent = 0
    for recipient in valid[:policy.max_recipients]:
        def action(handover: Handover, recipient: Recipient = recipient) -> str:
            return mailer.send(build(recipient), handover)
        sent += attempts.run("email", prefix + recipient.key, action, audit=False, notice=True)
    return sent


def notify_schedule_error(mailer: Mailer, schedule: dict[str, Any], *, error: str, sender: str,
                          reply_to: str | None, policy: DeliveryPolicy) -> int:
    """Tell a schedule's recipients it cannot run (bad time zone, missing day, deleted template).

    No report exists, so there is no report_delivery row: the caller sends only when it was the
    one that recorded the new error on the schedule row, which happens once per error. `policy`
    is the configured one (its recipient cap holds for notices too), so it has no default."""
    valid, _ = parse_recipients(schedule["recipients"])
    sent = 0
    for recipient in valid[:policy.max_recipients]:
        try:
            mailer.send(build_failure_notice(
                sender=sender, reply_to=reply_to, recipient=recipient, schedule_name=schedule["name"],
                organization_name=schedule["organization_name"], period_label="its next run", error=error))
            sent += 1
        except ReplyLost:
            sent += 1  # the server has it
        except Exception:  # noqa: BLE001 - a notice that cannot be sent must not stop the sensor
            continue
    return sent
