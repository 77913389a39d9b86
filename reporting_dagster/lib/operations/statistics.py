"""Report statistics per organization (seed 000 §8 `get_report_statistics(org, days)`).

One row per organization, computed in one grouped query so no number can cross from one
organization to another. Pending counts `processing` too: both are "not finished yet".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.infra.paths import read_named_sql

_SQL = read_named_sql("statistics.sql")
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class ReportStatistics:
    organization_id: int
    organization_name: str
    total_reports: int
    completed_reports: int
    failed_reports: int
    pending_reports: int  # pending + processing
    total_records_exported: int  # sum of record_count over completed reports
    avg_processing_time_ms: int | None  # completed reports, rounded half-up; None without any


def report_statistics(engine: Engine, *, now: dt.datetime, days: int = DEFAULT_DAYS,
                      organization_id: int | None = None) -> list[ReportStatistics]:
    """Statistics of the reports created in the `days` before `now`, one per organization."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    params = {"now": now, "since": now - dt.timedelta(days=days), "organization_id": organization_id}
    with engine.connect() as conn:
        rows = conn.execute(sa.text(_SQL["report_statistics"]), params).mappings().all()
    return [
        ReportStatistics(
            organization_id=int(r["organization_id"]),
            organization_name=r["organization_name"],
            total_reports=int(r["total_reports"]),
            completed_reports=int(r["completed_reports"]),
            failed_reports=int(r["failed_reports"]),
            pending_reports=int(r["pending_reports"]),
            total_records_exported=int(r["total_records_exported"]),
            avg_processing_time_ms=_round_ms(r["avg_processing_time_ms"]),
        )
        for r in rows
    ]


def get_report_statistics(engine: Engine, organization_id: int, days: int = DEFAULT_DAYS, *,
                          now: dt.datetime | None = None) -> ReportStatistics | None:
    """The seed's function for one organization; None when the organization does not exist."""
    rows = report_statistics(engine, now=now or dt.datetime.now(dt.timezone.utc), days=days,
                             organization_id=organization_id)
    return rows[0] if rows else None


def markdown_table(rows: list[ReportStatistics]) -> str:
    """A Markdown table for the Dagster UI; organization names are data, so Markdown in them is escaped."""
    lines = [
        "| organization | total | completed | failed | pending | records exported | avg processing ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        avg = "" if r.avg_processing_time_ms is None else str(r.avg_processing_time_ms)
        lines.append(
            f"| {_cell(r.organization_name)} ({r.organization_id}) | {r.total_reports} | {r.completed_reports} | "
            f"{r.failed_reports} | {r.pending_reports} | {r.total_records_exported} | {avg} |"
        )
    return "\n".join(lines)


_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-!|~&")


def _cell(text: str) -> str:
    """One line, every Markdown/HTML character backslash-escaped (CommonMark shows them literally)."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in " ".join(str(text).split()))


def _round_ms(value: Decimal | None) -> int | None:
    if value is None:
        return None
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
