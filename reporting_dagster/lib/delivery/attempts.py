"""The report_delivery protocol for one (report, channel, recipient): claim, act, finalise.

A row is claimed before anything is sent and finalised after, each step conditional on the
claim still being this caller's (its attempt number), so a retried or concurrent run never sends
the same report to the same recipient twice. What happens to a claim whose run was killed:

- before the message's last byte left (`handed_over_at` unset): after the lease the claim is
  taken over and the message sent again; the server never accepted the first, partial one
  (an SMTP server keeps a message only once it has its terminating dot): exactly once.
- after (`handed_over_at` set, just before the SMTP terminator or the SES call): the provider
  has the message, or almost certainly has it. It is counted as sent and never sent again: at
  most once. The only message that can be lost is one the server refused in the instant between
  receiving its last byte and the worker's death; the alternative, sending again, would give
  every recipient of a server that accepted a second copy. A late reply is the same case
  (`ReplyLost`: "accepted, reply timed out").

Every finished attempt is appended to the row's `history` (attempt, run, times, outcome, detail)
besides the `attempts` counter. A failure is retried by delivery_retry_sensor after the backoff
of `DeliveryPolicy` when it may pass (a lost connection, a timeout, a 4xx reply, a 5xx from S3);
one that cannot (a refused address, a 5xx SMTP reply, a setting, a file that does not match its
record) is recorded with its reason and not retried.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.delivery.mail import Handover, ReplyLost, UnsafeMessage
from reporting_dagster.lib.delivery.policy import DeliveryPolicy
from reporting_dagster.lib.infra.paths import read_named_sql
from reporting_dagster.lib.jsonutil import dumps
from reporting_dagster.lib.operations.records import loads, short_error

_SQL = read_named_sql("delivery.sql")
_AUDIT = read_named_sql("report_records.sql")["audit"]

Action = Callable[[Handover], str]  # sends; returns the provider's message id


class DeliveryError(Exception):
    """A delivery attempt failed for a reason worth storing as is; `retry` when it may pass."""

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


class ClaimLost(Exception):
    """The claim was taken over by another run (this one was presumed dead): do not send."""


@dataclass(frozen=True)
class DeliveryOutcome:
    channel: str
    recipient: str
    detail: str | None = None
    retry_at: Any = None  # when a failed one is tried again; None: not retried

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

    def failure_text(self) -> str:
        tried = len(self.sent) + len(self.failed)
        return failure_list(f"delivery failed for {len(self.failed)} of {tried} deliveries tried",
                            [f"{o.recipient}: {o.detail}" + ("" if o.retry_at else " (not retried)")
                             for o in self.failed])


SHOWN = 5  # failures named in a message; the rest counted


def failure_list(head: str, parts: list[str]) -> str:
    """'<head>: first SHOWN parts; and K more': the run's failure and the schedule's error alike."""
    more = f"; and {len(parts) - SHOWN} more" if len(parts) > SHOWN else ""
    return f"{head}: {'; '.join(parts[:SHOWN])}{more}"


def retryable(exc: BaseException) -> bool:
    """Whether trying the same delivery again later may succeed."""
    if isinstance(exc, DeliveryError):
        return exc.retry
    if isinstance(exc, UnsafeMessage):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(int(code) < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return int(exc.smtp_code) < 500  # 4xx: try again later; 5xx: the server said no
    response = getattr(exc, "response", None)  # botocore ClientError
    if isinstance(response, dict):
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        code = str(response.get("Error", {}).get("Code", ""))
        return status >= 500 or status in (408, 429) or "Throttl" in code or "SlowDown" in code
    return True  # refused connections, timeouts, lost connections, DNS: passing faults


class Attempts:
    """Claim, act, finalise for the deliveries of one report.

    `due_only` (the retry sensor's runs): of the rows there are, only those whose retry time has
    come and stale claims are taken; recipients without a row are claimed too (the run that
    should have tried them stopped before it did, or they were added to the schedule since)."""

    def __init__(self, engine: Engine, report: dict[str, Any], summary: DeliverySummary, run_id: str | None,
                 policy: DeliveryPolicy, *, due_only: bool = False) -> None:
        self.engine, self.report, self.summary = engine, report, summary
        self.run_id, self.policy, self.due_only = run_id, policy, due_only
        self.tried: set[str] = set()  # "<channel> <recipient>" of every run() call

    def run(self, channel: str, recipient: str, action: Action, *, audit: bool = True, notice: bool = False) -> bool:
        """True when sent now. `notice`: a failure notice, never retried automatically."""
        self.tried.add(f"{channel} {recipient}")
        keys = {"generated_report_id": self.report["id"], "channel": channel, "recipient": recipient}
        params = {**keys, "run_id": self.run_id, "lease": self.policy.lease_seconds,
                  "dead_after": self.policy.dead_after_seconds, "due_only": self.due_only,
                  "max_attempts": self.policy.max_attempts}
        with self.engine.begin() as conn:
            conn.execute(sa.text(_SQL["settle_handed_over"]), params)
            claimed = conn.execute(sa.text(_SQL["claim_new"]), params).first()
            if claimed is None:
                claimed = conn.execute(sa.text(_SQL["reclaim"]), params).first()
            if claimed is None:
                row = conn.execute(sa.text(_SQL["current_status"]), keys).first()
                self.summary.skipped.append(DeliveryOutcome(channel, recipient, _why_skipped(row)))
                return False
        claim = {"id": claimed.id, "attempts": claimed.attempts}

        def handover() -> None:
            with self.engine.begin() as conn:
                if conn.execute(sa.text(_SQL["mark_handed_over"]), claim).first() is None:
                    raise ClaimLost(f"{channel}:{recipient}: another run took this delivery over; not sent from here")

        detail = None
        try:
            provider_id = action(handover)
        except ReplyLost as exc:
            provider_id, detail = exc.provider_message_id, exc.detail
        except ClaimLost:
            self.summary.skipped.append(DeliveryOutcome(channel, recipient, "taken over by another run"))
            return False
        except Exception as exc:  # noqa: BLE001 - one recipient's failure never stops the others
            return self._failed(claim, channel, recipient, exc, notice)
        with self.engine.begin() as conn:
            done = conn.execute(sa.text(_SQL["mark_sent"]), {
                **claim, "provider_message_id": provider_id, "detail": detail}).first()
            if done is None:  # taken over after the provider had it: the other run settles it as sent
                self.summary.skipped.append(DeliveryOutcome(channel, recipient, "taken over by another run"))
                return False
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
                                      "provider_message_id": provider_id, "run_id": self.run_id,
                                      "attempt": claim["attempts"], "detail": detail}),
                })
        self.summary.sent.append(DeliveryOutcome(channel, recipient, detail))
        return True

    def _failed(self, claim: dict[str, Any], channel: str, recipient: str, exc: Exception, notice: bool) -> bool:
        message = short_error(str(exc) if isinstance(exc, (DeliveryError, UnsafeMessage)) else exc)
        retry_in = None if notice or not retryable(exc) else self.policy.retry_in(claim["attempts"])
        if retry_in is None and not notice and retryable(exc):
            message = short_error(f"{message} (gave up after {claim['attempts']} attempts)")
        with self.engine.begin() as conn:
            row = conn.execute(sa.text(_SQL["mark_failed"]), {**claim, "error": message, "retry_in": retry_in}).first()
        if row is None:
            self.summary.skipped.append(DeliveryOutcome(channel, recipient, "taken over by another run"))
        else:
            self.summary.failed.append(DeliveryOutcome(channel, recipient, message, row.next_attempt_at))
        return False


    def due(self) -> list[tuple[str, str]]:
        """(channel, recipient) of the report's deliveries due for a retry round."""
        with self.engine.connect() as conn:
            return [(r.channel, r.recipient) for r in conn.execute(sa.text(_SQL["due_deliveries"]), {
                "id": self.report["id"], "lease": self.policy.lease_seconds,
                "dead_after": self.policy.dead_after_seconds, "max_attempts": self.policy.max_attempts})]

    def drop_unreachable(self) -> int:
        """Stop retrying the due deliveries this round could not take (see delivery.sql)."""
        statement = sa.text(_SQL["drop_unreachable"]).bindparams(sa.bindparam("tried", expanding=True))
        with self.engine.begin() as conn:
            return len(conn.execute(statement, {
                "id": self.report["id"], "tried": sorted(self.tried), "lease": self.policy.lease_seconds,
                "dead_after": self.policy.dead_after_seconds}).all())


def _why_skipped(row: Any) -> str:
    if row is None:
        return "never tried; left to a full delivery"
    if row.status == "failed":
        return f"failed, next try at {row.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}" if row.next_attempt_at \
            else "failed, not retried automatically"
    return f"already {row.status}"


def refuse(reason: str) -> Action:
    """An attempt that fails with `reason` (not retried), so a refusal is recorded like any failure."""
    def action(handover: Handover) -> str:
        raise DeliveryError(reason)
    return action
