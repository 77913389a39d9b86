"""Platform rows for the time tests: members, tasks, time entries with rate snapshots, customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from tests.builders import Platform

D = Decimal


class TimePlatform(Platform):
    def member(self, org_id: int, name: str | None, email: str) -> int:
        return self._insert("member", organization_id=org_id, name=name, email=email)

    def task(self, project_id: int, name: str = "Field work") -> int:
        return self._insert("task", project_id=project_id, name=name)

    def entry(self, task_id: int, member_id: int, day: dt.date, minutes: int, billable: bool = True,
              billing: tuple[str, str] | None = None, cost: tuple[str, str] | None = None) -> int:
        return self._insert(
            "time_entry", task_id=task_id, member_id=member_id, date=day, duration_minutes=minutes, billable=billable,
            billing_rate_snapshot=D(billing[0]) if billing else None, billing_rate_currency=billing[1] if billing else None,
            cost_rate_snapshot=D(cost[0]) if cost else None, cost_rate_currency=cost[1] if cost else None,
        )

    def customer_of(self, project_id: int, customer_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO customer_project (customer_id, project_id) VALUES (:c, :p)"),
                         {"c": customer_id, "p": project_id})
