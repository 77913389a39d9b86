"""Which reports have deliveries to try again now (delivery_retry_sensor's question).

A delivery is due when it failed for a reason that may pass and its `next_attempt_at` has come
(backoff of `DeliveryPolicy`: 5, 10, 20, 40 minutes; 5 attempts), or when its claim is stale
(lease over, its run no longer beats) and it never handed its message over. Before looking,
stale claims that did hand it over are settled as sent, and stale claims abandoned as often as
attempts allow are failed for good: a message that kills every worker is not tried forever.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.delivery.policy import DeliveryPolicy
from reporting_dagster.lib.infra.paths import read_named_sql

_SQL = read_named_sql("delivery.sql")


@dataclass(frozen=True)
class DueReport:
    generated_report_id: int
    organization_id: int
    round: int  # the highest attempt number among its due deliveries
    due_at: dt.datetime
    due: int

    def run_key(self, now: dt.datetime, policy: DeliveryPolicy) -> str:
        """One run per report and round; should that run die before claiming anything, the key
        changes once per lease, so the round is launched again rather than never."""
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
    with engine.connect() as conn:
        rows = conn.execute(sa.text(_SQL["due_reports"]), {**_params(policy), "limit": limit}).all()
    return [DueReport(int(r.generated_report_id), int(r.organization_id), int(r.round), r.due_at, int(r.due))
            for r in rows]
