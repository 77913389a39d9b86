"""What a report's deliveries mean for its schedule: status, error and the owners' notice.

After every delivery call (the first one and each retry round) the schedule's last run follows
the state of all the report's deliveries, as recorded: `failed` with "report made, delivery
failed for N of M recipients: …" while any is failed, `completed` again once none is. The
owners (the schedule's recipients) get one notice when a streak of failing reports starts: the
schedule's previous report failed, or still has failed deliveries, means the streak goes on.
The notice has its own report_delivery rows ('delivery-notice:<address>'), so a notice that
could not go out either (SMTP down) is recorded too; it is tried again only with a later round
of the same report that still fails, and sent at most once per recipient and report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.delivery.attempts import failure_list
from reporting_dagster.lib.delivery.deliver import DELIVERY_NOTICE_PREFIX, load_report, period_label, send_notices
from reporting_dagster.lib.delivery.mail import Mailer, Recipient, build_delivery_notice
from reporting_dagster.lib.delivery.policy import DeliveryPolicy
from reporting_dagster.lib.infra.paths import read_named_sql
from reporting_dagster.lib.operations.records import short_error
from reporting_dagster.lib.requests.queue import record_schedule_outcome

_SQL = read_named_sql("delivery.sql")


@dataclass(frozen=True)
class DeliveryState:
    """All of one report's deliveries (notices left out), as the rows say now."""

    rows: tuple[Any, ...]

    @property
    def failed(self) -> list[Any]:
        return [r for r in self.rows if r.status == "failed"]

    def error(self) -> str | None:
        failed = self.failed
        if not failed:
            return None
        return short_error(failure_list(f"report made, delivery failed for {len(failed)} of {len(self.rows)} "
                                        "recipients", [f"{r.recipient}: {r.error}" for r in failed]))


def delivery_state(engine: Engine, generated_report_id: int) -> DeliveryState:
    with engine.connect() as conn:
        return DeliveryState(tuple(conn.execute(sa.text(_SQL["report_deliveries"]), {"id": generated_report_id})))


@dataclass(frozen=True)
class ScheduleOutcome:
    scheduled_report_id: int | None
    status: str | None  # completed | failed | None (no schedule)
    error: str | None
    notices_sent: int = 0

    def as_metadata(self) -> dict[str, Any]:
        if self.scheduled_report_id is None:
            return {}
        return {"scheduled_report_id": self.scheduled_report_id, "schedule_status": self.status,
                "schedule_error": self.error or "", "owner_notices_sent": self.notices_sent}


def record_outcome(engine: Engine, mailer: Mailer | None, *, generated_report_id: int, sender: str,
                   reply_to: str | None, run_id: str | None = None,
                   policy: DeliveryPolicy | None = None) -> ScheduleOutcome:
    """Set the schedule's last run from the report's deliveries; notify its owners when a
    failing streak starts. Reports without a schedule have no status to set."""
    policy = policy or DeliveryPolicy()
    report = load_report(engine, generated_report_id)
    schedule_id = report["scheduled_report_id"]
    if schedule_id is None:
        return ScheduleOutcome(None, None, None)
    error = delivery_state(engine, generated_report_id).error()
    status = "failed" if error else "completed"
    record_schedule_outcome(engine, scheduled_report_id=int(schedule_id), generated_report_id=generated_report_id,
                            status=status, error=error)
    sent = 0
    if error and mailer is not None and not _previous_failing(engine, int(schedule_id), generated_report_id):
        def notice(recipient: Recipient) -> Any:
            return build_delivery_notice(
                sender=sender, reply_to=reply_to, recipient=recipient,
                schedule_name=report["schedule_name"] or report["name"],
                organization_name=report["organization_name"], period_label=period_label(report), error=error)

        sent = send_notices(engine, mailer, report, DELIVERY_NOTICE_PREFIX, notice, run_id=run_id, policy=policy)
    return ScheduleOutcome(int(schedule_id), status, error, sent)


def _previous_failing(engine: Engine, scheduled_report_id: int, generated_report_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.text(_SQL["previous_report_failing"]), {
            "scheduled_report_id": scheduled_report_id, "generated_report_id": generated_report_id}).scalar())
