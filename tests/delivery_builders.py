"""Completed reports to deliver, stored under the key their lifecycle writes (lib/infra/store.py
`report_key`, with this database's installation token and the row's created_at)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa

from reporting_dagster.lib.infra.installation import installation_token
from reporting_dagster.lib.infra.store import report_key

SENDER = "Reports <reports@example.com>"
CSV = b"# Invoice comparison\r\ncontract,variance\r\nC-1,-160.00\r\n"


class Reports:
    """Organizations, one January 2026 period, schedules and completed reports with their files."""

    def __init__(self, engine, store) -> None:
        self.engine, self.store = engine, store
        with engine.begin() as conn:
            self.period = conn.execute(sa.text(
                "INSERT INTO billing_period (name, start_date, end_date) "
                "VALUES ('January 2026', '2026-01-01', '2026-01-31') RETURNING id")).scalar_one()

    def org(self, name: str = "Sunfield Energy") -> int:
        with self.engine.begin() as conn:
            return conn.execute(sa.text("INSERT INTO organization (name, created_at) VALUES (:n, now()) "
                                        "RETURNING id"), {"n": name}).scalar_one()

    def schedule(self, org: int, *, recipients, name: str = "Monthly comparison", delivery_method: str = "email",
                 s3_destination: str | None = None) -> int:
        with self.engine.begin() as conn:
            template = conn.execute(sa.text(
                "INSERT INTO report_template (organization_id, name, report_type, file_format) "
                "VALUES (:org, :n, 'invoice_comparison', 'csv') RETURNING id"),
                {"org": org, "n": f"Comparison for {name}"}).scalar_one()
            return conn.execute(sa.text(
                "INSERT INTO scheduled_report (organization_id, report_template_id, name, report_frequency, "
                "day_of_month, recipients, delivery_method, s3_destination) VALUES (:org, :t, :n, 'monthly', 5, "
                "CAST(:r AS jsonb), CAST(:m AS delivery_method), :d) RETURNING id"),
                {"org": org, "t": template, "n": name, "r": json.dumps(recipients), "m": delivery_method,
                 "d": s3_destination}).scalar_one()

    def report(self, org: int, schedule: int | None = None, *, data: bytes = CSV,
               name: str = "Invoice comparison January 2026") -> dict:
        """A completed report row and its stored file; {"id", "key", "org"}."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.text(
                "INSERT INTO generated_report (organization_id, scheduled_report_id, generation_source, report_type, "
                "name, report_status, billing_period_id, file_format) VALUES (:org, :s, "
                "CAST(:src AS generation_source), 'invoice_comparison', :n, 'processing', :p, 'csv') "
                "RETURNING id, created_at"),
                {"org": org, "s": schedule, "src": "scheduled" if schedule else "on_demand", "n": name,
                 "p": self.period}).one()
        key = report_key(org, dt.date(2026, 1, 1), "invoice_comparison", row.id, "csv",
                         installation_token=installation_token(self.engine), created_at=row.created_at)
        self.store.put(key, data, "text/csv")
        with self.engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE generated_report SET report_status = 'completed', file_path = :k, file_size_bytes = :n, "
                "file_hash = :h WHERE id = :id"),
                {"k": key, "n": len(data), "h": hashlib.sha256(data).hexdigest(), "id": row.id})
        return {"id": row.id, "key": key, "org": org}

    def deliveries(self, report_id: int) -> list[tuple]:
        """(channel, recipient, status, attempts, error, retried automatically) per row."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT channel, recipient, status, attempts, error, next_attempt_at IS NOT NULL "
                "FROM report_delivery WHERE generated_report_id = :id ORDER BY channel, recipient"),
                {"id": report_id})]

    def delivery(self, report_id: int, recipient: str) -> dict:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.text(
                "SELECT * FROM report_delivery WHERE generated_report_id = :id AND recipient = :r"),
                {"id": report_id, "r": recipient}).mappings().one())

    def schedule_row(self, schedule: int) -> dict:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT * FROM scheduled_report WHERE id = :id"),
                                     {"id": schedule}).mappings().one())
