"""Delivering a completed report: e-mail to recipients and a copy to an S3 destination.

Every (report, channel, recipient) is claimed in `report_delivery` before anything is sent and
finalised after, so a retried or concurrent run never sends the same report to the same
recipient twice, and a recipient whose attempt failed can be retried alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.jsonutil import dumps
from reporting_dagster.lib.delivery.mail import (
    ATTACHMENT_LIMIT_BYTES,
    Mailer,
    Recipient,
    build_failure_notice,
    build_report_message,
    parse_recipients,
)
from reporting_dagster.lib.infra.paths import read_named_sql
from reporting_dagster.lib.operations.records import loads, short_error
from reporting_dagster.lib.infra.store import Store

_SQL = read_named_sql("delivery.sql")
_AUDIT = read_named_sql("report_records.sql")["audit"]

CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "pdf": "application/pdf",
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FAILURE_NOTICE_PREFIX = "failure-notice:"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class NotDeliverable(ValueError):
    """The report cannot be delivered (missing, not completed, no file)."""


class DeliveryError(Exception):
    """A delivery attempt failed for a reason worth storing as is."""


@dataclass(frozen=True)
class DeliveryOutcome:
    channel: str
    recipient: str
    detail: str | None = None

    def __str__(self) -> str:
        text = f"{self.channel}:{self.recipient}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class DeliverySummary:
    """What one delivery call did; the caller logs it as run metadata."""

    generated_report_id: int
    sent: list[DeliveryOutcome] = field(default_factory=list)
    skipped: list[DeliveryOutcome] = field(default_factory=list)
    failed: list[DeliveryOutcome] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "deliveries_sent": len(self.sent),
            "deliveries_skipped": len(self.skipped),
            "deliveries_failed": len(self.failed),
            "delivery_details": [f"sent {o}" for o in self.sent] + [f"skipped {o}" for o in self.skipped]
            + [f"failed {o}" for o in self.failed],
        }


def load_report(engine: Engine, generated_report_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.text(_SQL["report_for_delivery"]), {"id": generated_report_id}).mappings().first()
    if row is None:
        raise NotDeliverable(f"generated_report {generated_report_id} does not exist")
    return dict(row)


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


class _Attempts:
    """Claim, act, finalise: the report_delivery protocol for one report."""

    def __init__(self, engine: Engine, report: dict[str, Any], summary: DeliverySummary,
                 run_id: str | None, reclaim_after_seconds: float | None) -> None:
        self.engine, self.report, self.summary = engine, report, summary
        self.run_id, self.reclaim_after = run_id, reclaim_after_seconds

    def run(self, channel: str, recipient: str, action: Callable[[], str], *, audit: bool = True) -> bool:
        keys = {"generated_report_id": self.report["id"], "channel": channel, "recipient": recipient}
        with self.engine.begin() as conn:
            claimed = conn.execute(sa.text(_SQL["claim"]), {**keys, "reclaim_after": self.reclaim_after}).first()
            if claimed is None:
                status = conn.execute(sa.text(_SQL["current_status"]), keys).scalar()
                self.summary.skipped.append(DeliveryOutcome(channel, recipient, f"already {status}"))
                return False
        delivery_id = claimed.id
        try:
            provider_id = action()
        except Exception as exc:  # one recipient's failure never stops the others
            message = short_error(str(exc) if isinstance(exc, DeliveryError) else exc)
            with self.engine.begin() as conn:
                conn.execute(sa.text(_SQL["mark_failed"]), {"id": delivery_id, "error": message})
            self.summary.failed.append(DeliveryOutcome(channel, recipient, message))
            return False
        with self.engine.begin() as conn:
            conn.execute(sa.text(_SQL["mark_sent"]), {"id": delivery_id, "provider_message_id": provider_id})
            if audit:
                conn.execute(sa.text(_AUDIT), {
                    "organization_id": self.report["organization_id"], "event_type": "REPORT_DELIVERED",
                    "entity_id": self.report["id"],
                    "actor": f"dagster:{self.run_id}" if self.run_id else "dagster",
                    "details": dumps({"channel": channel, "recipient": recipient,
                                      "report_type": self.report["report_type"],
                                      "file_format": self.report["file_format"],
                                      "parameters": loads(self.report["parameters"]),
                                      "record_count": self.report["record_count"],
                                      "provider_message_id": provider_id, "run_id": self.run_id}),
                })
        self.summary.sent.append(DeliveryOutcome(channel, recipient))
        return True


def _refuse(reason: str) -> Callable[[], str]:
    """An attempt that fails with `reason`, so the refusal is recorded like any other failure."""
    def action() -> str:
        raise DeliveryError(reason)
    return action


def _copy_to_s3(s3_client: Any, bucket: str, key: str, data: bytes, content_type: str) -> str:
    from botocore.exceptions import ClientError

    try:
        response = s3_client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type,
                                        IfNoneMatch="*")
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
    reclaim_after_seconds: float | None = None,
    allowed_buckets: Collection[str] | None = None,
) -> DeliverySummary:
    """Deliver a completed report per its schedule's delivery_method and recipients.

    `recipients` (addresses or {email, name}) overrides the schedule's list and makes on-demand
    reports deliverable by e-mail. Claims abandoned by a crashed run stay skipped (at most once)
    unless `reclaim_after_seconds` says after how long they may be taken over.
    """
    report = load_report(engine, generated_report_id)
    if report["report_status"] != "completed" or not report["file_path"]:
        raise NotDeliverable(f"generated_report {generated_report_id} is {report['report_status']}, "
                             "only completed reports with a file are delivered")
    summary = DeliverySummary(generated_report_id)
    channels = {"email": {"email"}, "s3": {"s3"}, "both": {"email", "s3"}}.get(report["delivery_method"] or "", set())
    if recipients is not None:
        channels.add("email")
    attempts = _Attempts(engine, report, summary, run_id, reclaim_after_seconds)
    content_type = CONTENT_TYPES.get(report["file_format"], "application/octet-stream")
    file_bytes: list[bytes] = []

    def data() -> bytes:
        if not file_bytes:
            file_bytes.append(store.get(report["file_path"]))
        return file_bytes[0]

    if "s3" in channels:
        _deliver_s3(attempts, report, s3_client, data, content_type, allowed_buckets)
    if "email" in channels and mailer is not None:
        valid, invalid = parse_recipients(list(recipients) if recipients is not None else report["recipients"])
        for raw, reason in invalid:
            attempts.run("email", raw or "(empty)", _refuse(f"invalid recipient: {reason}"), audit=False)
        url = store.url(report["file_path"], expires_in=link_expiry_seconds)
        expires_hours = None if url.startswith("file:") else max(1, round(link_expiry_seconds / 3600))
        size = report["file_size_bytes"]
        attach = size is None or size <= attachment_limit  # an unknown size is checked once read

        def email_to(recipient: Recipient) -> Callable[[], str]:
            def action() -> str:
                payload = data() if attach else None
                attachment = None
                if payload is not None and len(payload) <= attachment_limit:
                    attachment = (report["file_path"].rsplit("/", 1)[-1], payload, content_type)
                message = build_report_message(
                    sender=sender, reply_to=reply_to, recipient=recipient, report_name=report["name"],
                    organization_name=report["organization_name"], period_label=period_label(report),
                    file_format=report["file_format"], download_url=url, link_expires_hours=expires_hours,
                    attachment=attachment,
                )
                return mailer.send(message)
            return action

        for recipient in valid:
            attempts.run("email", recipient.key, email_to(recipient))
    elif "email" in channels:
        summary.skipped.append(DeliveryOutcome("email", "*", "no mailer configured"))
    return summary


def _deliver_s3(attempts: _Attempts, report: dict[str, Any], s3_client: Any,
                data: Callable[[], bytes], content_type: str, allowed_buckets: Collection[str] | None) -> None:
    destination = report["s3_destination"] or ""
    try:
        bucket, prefix = parse_s3_destination(destination)
        if allowed_buckets is not None and bucket not in allowed_buckets:
            raise DeliveryError(f"bucket {bucket!r} is not an allowed delivery bucket "
                                "(REPORTS_S3_DELIVERY_BUCKETS)")
    except DeliveryError as exc:
        attempts.run("s3", destination.strip() or "(no s3_destination)", _refuse(str(exc)), audit=False)
        return
    key = destination_key(report, prefix)
    if s3_client is None:
        attempts.run("s3", f"s3://{bucket}/{key}", _refuse("no S3 client configured for delivery"),
                     audit=False)
        return
    attempts.run("s3", f"s3://{bucket}/{key}", lambda: _copy_to_s3(s3_client, bucket, key, data(), content_type))


def notify_failure(
    engine: Engine,
    mailer: Mailer,
    *,
    generated_report_id: int,
    sender: str,
    reply_to: str | None,
    run_id: str | None = None,
) -> int:
    """Send the failure notice to the schedule's recipients; return how many were sent now.

    The claim (channel 'email', recipient 'failure-notice:<address>') makes it at most one notice
    per report and recipient, and keeps it apart from the report's own delivery should the same
    row later be retried and completed. Whether this failure starts a streak is the caller's call.
    """
    report = load_report(engine, generated_report_id)
    if report["scheduled_report_id"] is None:
        return 0
    summary = DeliverySummary(generated_report_id)
    attempts = _Attempts(engine, report, summary, run_id, None)
    valid, invalid = parse_recipients(report["recipients"])
    for raw, reason in invalid:
        attempts.run("email", FAILURE_NOTICE_PREFIX + (raw or "(empty)"),
                     _refuse(f"invalid recipient: {reason}"), audit=False)
    sent = 0
    for recipient in valid:
        def action(recipient: Recipient = recipient) -> str:
            return mailer.send(build_failure_notice(
                sender=sender, reply_to=reply_to, recipient=recipient,
                schedule_name=report["schedule_name"] or report["name"],
                organization_name=report["organization_name"], period_label=period_label(report),
                error=report["processing_error"] or "unknown error",
            ))
        sent += attempts.run("email", FAILURE_NOTICE_PREFIX + recipient.key, action, audit=False)
    return sent


def notify_schedule_error(mailer: Mailer, schedule: dict[str, Any], *, error: str, sender: str,
                          reply_to: str | None) -> int:
    """Tell a schedule's recipients it cannot run (bad time zone, missing day, deleted template).

    No report exists, so there is no report_delivery row: the caller sends only when it was the
    one that recorded the new error on the schedule row, which happens once per error."""
    valid, _ = parse_recipients(schedule["recipients"])
    sent = 0
    for recipient in valid:
        try:
            mailer.send(build_failure_notice(
                sender=sender, reply_to=reply_to, recipient=recipient, schedule_name=schedule["name"],
                organization_name=schedule["organization_name"], period_label="its next run", error=error))
            sent += 1
        except Exception:  # noqa: BLE001 - a notice that cannot be sent must not stop the sensor
            continue
    return sent
