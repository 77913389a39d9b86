"""Which reports have deliveries to try again now (delivery_retry_sensor's question).

A delivery is due when it failed for a reason that may pass and its `next_attempt_at` has come
(backoff of `DeliveryPolicy`: 5, 10, 20, 40 minutes; 5 attempts), or when its claim is stale
(lease over, its run no longer beats) and it never handed its message over. Before looking,
stale claims that did hand it over are settled as sent, and stale claims abandoned as often as
attempts allow are failed for good: a message that kills every worker is not tried forever.

A scheduled report is also due when it has fewer deliveries than its schedule names and the
run that made it is gone (`undelivered_reports`, sql/delivery.sql): its run died between render
and delivery, or its delivery step failed before claiming, or stopped between two recipients.
Its round claims the recipients that have no row yet. Only reports completed within the last
`WINDOW_HOURS` (48) are looked at, so old history is never delivered out of the blue.
Reports whose file_path is not a key of their own row (a row the platform's processor
re-completed) are not ours and are never retried (`not_ours`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.delivery.deliver import load_report
from reporting_dagster.lib.delivery.policy import DeliveryPolicy
from reporting_dagster.lib.delivery.verify import key_problem
from reporting_dagster.lib.infra.paths import read_named_sql

_SQL = read_named_sql("delivery.sql")
WINDOW_HOURS = 48  # undelivered reports completed longer ago are left alone


@dataclass(frozen=True)
class DueReport:
    generated_report_id: int
    organization_id: int
    round: int  # the highest attempt number among its due deliveries
    due_at: dt.datetime
    due: int
    rows: int | None = None  # undelivered (recipients without a row): how many rows it has

    def run_key(self, now: dt.datetime, policy: DeliveryPolicy) -> str:
        """One run per report and round; should that run die before claiming anything, the key
        changes once per lease, so the round is launched again rather than never. An undelivered
        report's key is its row count: one round per state (a schedule listing an address twice
        has one row fewer than it names for ever; that round runs once, not every tick)."""
        if self.rows is not None:
            return f"deliver-{self.generated_report_id}-missing-{self.rows}"
        late = max(0.0, (now - self.due_at).total_seconds())
        return f"deliver-{self.generated_report_id}-round-{self.round}-{int(late // policy.lease_seconds)}"


def _params(policy: DeliveryPolicy) -> dict[str, object]:
    return {"lease": policy.lease_seconds, "dead_after": policy.dead_after_seconds,
            "max_attempts": policy.max_attempts}


def settle_abandoned(engine: Engine, policy: DeliveryPolicy) -> set[int]:
    """Settle every stale claim that can no longer be retried; the reports concerned."""
    with engine.begin() as conn:
        settled = conn.execute(sa.text(_SQL["settle_handed_over"]), {
            **_params(policy), "generated_report_id": None, "channel": None, "recipient": None}).all()
        given_up = conn.execute(sa.text(_SQL["give_up_abandoned"]), _params(policy)).all()
    return {int(r.generated_report_id) for r in [*settled, *given_up]}


def due_reports(engine: Engine, policy: DeliveryPolicy, *, limit: int = 25) -> list[DueReport]:
    """Reports with retries due, then undelivered ones (each report once), oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(_SQL["due_reports"]), {**_params(policy), "limit": limit}).all()
        missing = conn.execute(sa.text(_SQL["undelivered_reports"]), {
            **_params(policy), "limit": limit, "window_hours": WINDOW_HOURS}).all()
    due = [DueReport(int(r.generated_report_id), int(r.organization_id), int(r.round), r.due_at, int(r.due))
           for r in rows]
    known = {d.generated_report_id for d in due}
    due += [DueReport(int(r.generated_report_id), int(r.organization_id), 0, r.due_at, 0, int(r.rows))
            for r in missing if int(r.generated_report_id) not in known]
    return due


def not_ours(engine: Engine, generated_report_id: int) -> str | None:
    """Why the report's file is not one this code location wrote (verify.key_problem), or None."""
    return key_problem(engine, load_report(engine, generated_report_id))
