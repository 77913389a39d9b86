"""The platform's report tables as a work queue: pending generated_report rows to launch and
scheduled_report rows whose slot is due.

Claims are single UPDATE statements that only succeed when the row still looks the way the
caller saw it, so two sensor ticks or two daemons can never claim the same request or slot.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.documents import catalog
from reporting_dagster.lib.requests import schedule
from reporting_dagster.lib.jsonutil import dumps
from reporting_dagster.lib.infra.paths import read_named_sql
from reporting_dagster.lib.infra.periods import month_bounds
from reporting_dagster.lib.operations.records import short_error
from reporting_dagster.lib.requests.validate import DATE_RANGE_TYPES, range_label

_SQL = read_named_sql("requests.sql")


RUN_KEY_TAG = "reporting/run_key"  # on every run launched for a row: which runs a row's key already has


def run_key(generated_report_id: int, last_run_id: str | None, *, started_at: dt.datetime | None = None,
            completed_at: dt.datetime | None = None) -> str:
    """A pending row's run key: the row, the last run that held it (its dagster_run_id, set by
    every claim of ours and by every failure of a pending row) and when it was last claimed or
    finished. It stays the same while the row waits (two ticks never launch it twice) and changes
    whenever the row is set back to pending after anyone held it, completed or failed — also
    after the platform's own processor took and failed it, which keeps the run id (or none) but
    sets the timestamps. A row never held keeps the plain `…-after-none`."""
    key = f"generated_report-{int(generated_report_id)}-after-{last_run_id or 'none'}"
    stamps = [t for t in (started_at, completed_at) if t is not None]
    return f"{key}-at-{int(max(stamps).timestamp() * 1_000_000)}" if stamps else key


@dataclass(frozen=True)
class PendingRequest:
    generated_report_id: int
    last_run_id: str | None
    organization_id: int
    report_type: str
    file_format: str
    generation_source: str
    scheduled_report_id: int | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None

    @property
    def run_key(self) -> str:
        return run_key(self.generated_report_id, self.last_run_id, started_at=self.started_at,
                       completed_at=self.completed_at)


def pending_requests(engine: Engine, *, after_id: int, limit: int, up_to: int | None = None) -> list[PendingRequest]:
    """Pending rows with after_id < id (≤ up_to, when given), oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(_SQL["pending_requests"]), {
            "after_id": after_id, "up_to": up_to, "limit": limit}).all()
    return [PendingRequest(int(r.id), r.last_run_id, int(r.organization_id), r.report_type, r.file_format,
                           r.generation_source, r.scheduled_report_id, r.processing_started_at,
                           r.processing_completed_at) for r in rows]


def create_request(
    engine: Engine,
    *,
    organization_id: int,
    report_type: str,
    name: str,
    file_format: str,
    generation_source: str,
    report_template_id: int | None = None,
    scheduled_report_id: int | None = None,
    billing_period_id: int | None = None,
    project_id: int | None = None,
    contract_id: int | None = None,
    parameters: dict[str, Any] | None = None,
    requested_by: str | None = None,
    conn: sa.Connection | None = None,
) -> int:
    """Insert a pending generated_report row (what the platform does for an on-demand request)."""
    values = {
        "organization_id": organization_id, "report_template_id": report_template_id,
        "scheduled_report_id": scheduled_report_id, "generation_source": generation_source,
        "report_type": report_type, "name": name[:255], "project_id": project_id, "contract_id": contract_id,
        "billing_period_id": billing_period_id, "parameters": dumps(parameters or {}),
        "file_format": file_format, "requested_by": requested_by,
    }
    if conn is not None:
        return int(conn.execute(sa.text(_SQL["insert_request"]), values).scalar_one())
    with engine.begin() as own:
        return int(own.execute(sa.text(_SQL["insert_request"]), values).scalar_one())


@dataclass(frozen=True)
class ScheduleOutcome:
    scheduled_report_id: int
    action: str  # initialised | claimed | lost | error
    generated_report_id: int | None = None
    slot: dt.datetime | None = None
    next_run_at: dt.datetime | None = None
    error: str | None = None
    new_error: bool = False  # this evaluation recorded the error first: the owners are told once


def evaluate_schedules(engine: Engine, *, now: dt.datetime, limit: int = 500) -> list[ScheduleOutcome]:
    """Give every due schedule one pending generated_report row for its slot.

    A schedule without next_run_at gets its first slot (no report). A due one is claimed by
    moving next_run_at to the first slot after *now* and last_run_at to *now* — so a schedule
    paused for months fires once, not once per missed slot — and its report row is inserted in
    the same transaction. A schedule that cannot be computed (unknown zone, missing day) gets
    the error on its row.

    The platform's trigger on scheduled_report recomputes next_run_at from last_run_at on every
    INSERT/UPDATE: it then agrees with the slot written here (both are the first slot after
    *now*), and the outcomes report what the row holds. A slot at or before last_run_at has run
    already: it is moved on without a report, never fired twice.
    """
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(_SQL["active_schedules"]), {"now": now, "limit": limit}).mappings()]
    outcomes = []
    for row in rows:
        try:
            outcomes.append(_evaluate(engine, row, now))
        except Exception as exc:  # noqa: BLE001 - one row's trouble must not stop every other schedule
            # not written to the row: a passing fault (a lost connection) must not reset the schedule
            outcomes.append(ScheduleOutcome(int(row["id"]), "error", error=short_error(exc)))
    return outcomes


def _evaluate(engine: Engine, row: dict[str, Any], now: dt.datetime) -> ScheduleOutcome:
    sid = int(row["id"])
    try:
        if row["report_type"] is None:
            raise schedule.ScheduleError(f"report template {row['report_template_id']} does not exist")
        if int(row["template_organization_id"]) != int(row["organization_id"]):
            raise schedule.ScheduleError(f"report template {row['report_template_id']} belongs to another organization")
        next_run = schedule.next_run_time(row["report_frequency"], row["day_of_month"], row["time_of_day"],
                                          row["timezone"], now)
    except schedule.ScheduleError as exc:
        message = short_error(str(exc))
        with engine.begin() as conn:
            recorded = conn.execute(sa.text(_SQL["schedule_error"]), {"id": sid, "error": message}).first()
        return ScheduleOutcome(sid, "error", error=message, new_error=recorded is not None)
    slot = row["next_run_at"]
    if slot is None or (row["last_run_at"] is not None and slot <= row["last_run_at"]):
        with engine.begin() as conn:
            held = conn.execute(sa.text(_SQL["set_first_run"]), {"id": sid, "next_run_at": next_run}).scalar()
        return ScheduleOutcome(sid, "initialised", next_run_at=held or next_run)
    with engine.begin() as conn:
        claimed = conn.execute(sa.text(_SQL["claim_slot"]), {
            "id": sid, "slot": slot, "next_run_at": next_run, "now": now}).first()
        if claimed is None:
            return ScheduleOutcome(sid, "lost", slot=slot)
        local_today = now.astimezone(ZoneInfo(row["timezone"])).date()
        request = _scheduled_request(conn, row, local_today)
        report_id = create_request(engine, conn=conn, **request)
    return ScheduleOutcome(sid, "claimed", report_id, slot, claimed.next_run_at)


def _scheduled_request(conn: sa.Connection, row: dict[str, Any], local_today: dt.date) -> dict[str, Any]:
    """The generated_report row of one run: the schedule's period, or the latest completed
    month / quarter / year as of the run's local date."""
    definition = catalog.get(row["report_type"])
    parameters: dict[str, Any] = {}
    period_id = row["billing_period_id"]
    label = ""
    if period_id is None:
        months = schedule.covered_months(row["report_frequency"], local_today)
        first_day = month_bounds(months[0])[0]
        last_start, last_day = month_bounds(months[-1])
        last = conn.execute(sa.text(_SQL["billing_period_by_start"]), {"start_date": last_start}).first()
        period_id = int(last.id) if last else None
        label = range_label(first_day, last_day)
        if len(months) > 1 and (definition.slug in DATE_RANGE_TYPES or _has(definition, "date_from")):
            parameters = {"date_from": first_day.isoformat(), "date_to": last_day.isoformat()}
        elif last is None and _has(definition, "billing_period"):
            parameters = {"billing_period": months[-1]}  # fails with "no billing period 2026-10"
    return {
        "organization_id": int(row["organization_id"]), "report_type": definition.slug,
        "name": f"{row['name']} — {label}" if label else str(row["name"]),
        "file_format": row["file_format"], "generation_source": "scheduled",
        "report_template_id": int(row["report_template_id"]), "scheduled_report_id": int(row["id"]),
        "billing_period_id": period_id, "project_id": row["project_id"], "contract_id": row["contract_id"],
        "parameters": parameters,
    }


def _has(definition: catalog.ReportDefinition, name: str) -> bool:
    return any(p.name == name for p in definition.parameters)


def record_schedule_outcome(engine: Engine, *, scheduled_report_id: int, generated_report_id: int,
                            status: str, error: str | None) -> bool:
    """Set the schedule's last run status; True when this failure starts a streak (notify once)."""
    with engine.begin() as conn:
        conn.execute(sa.text(_SQL["schedule_outcome"]), {
            "scheduled_report_id": scheduled_report_id, "generated_report_id": generated_report_id,
            "status": status, "error": error})
        previous = conn.execute(sa.text(_SQL["previous_scheduled_status"]), {
            "scheduled_report_id": scheduled_report_id, "generated_report_id": generated_report_id}).scalar()
    return status == "failed" and previous != "failed"


STUCK_LIMIT = 200  # processing rows judged per reaper tick


def stuck_reports(engine: Engine, *, started_before: dt.datetime, after_id: int = 0,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """Processing rows of our runs claimed before `started_before`, with after_id < id, oldest id first."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(_SQL["stuck_reports"]), {
            "started_before": started_before, "after_id": after_id,
            "limit": STUCK_LIMIT if limit is None else limit}).mappings()]


def report_for_failure(engine: Engine, report_id: int) -> dict[str, Any] | None:
    """What a failure handler needs to judge a row: its status, the run it names and when it was
    claimed (the failing statement is conditional on them), and its audit fields."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(_SQL["report_for_failure"]), {"id": report_id}).mappings().first()
    return dict(row) if row else None


def report_of_run(engine: Engine, run_ids: list[str | None]) -> int | None:
    """The newest generated_report row held or finished by one of these runs, or failed from
    outside them ('reaped:<run id>': found, so a retry does not create a second row, and then not
    taken)."""
    ids = tuple(r for r in run_ids if r)
    ids = ids + tuple(f"reaped:{r}" for r in ids)
    if not ids:
        return None
    statement = sa.text(_SQL["report_of_run"]).bindparams(sa.bindparam("run_ids", expanding=True))
    with engine.connect() as conn:
        found = conn.execute(statement, {"run_ids": list(ids)}).scalar()
    return int(found) if found is not None else None


def schedule_for_notice(engine: Engine, scheduled_report_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.text(_SQL["schedule_for_notice"]), {"id": scheduled_report_id}).mappings().first()
    return dict(row) if row else None


RELEASE_LIMIT = 2  # times a row may be released by dying batch runs; the next such death fails it
_RELEASED = re.compile(r"^released-(\d+):")


def releases(last_run_id: str | None) -> int:
    """How many dying batch runs have released this pending row in a row (its 'released-<n>:<run>'
    marker; 0 for any other run id: a claim or a failure starts the count again)."""
    found = _RELEASED.match(last_run_id or "")
    return int(found.group(1)) if found else 0


def release_request(engine: Engine, report_id: int, *, seen_run_id: str | None, run_id: str) -> bool:
    """Offer a pending row a dead batch run never claimed again: it names 'released-<n>:<run id>'
    (fits VARCHAR(64)), a new run key, so the request sensor launches it in a run of its own.
    Only while it still names `seen_run_id` (the key the caller judged); True when this call did it."""
    marker = f"released-{releases(seen_run_id) + 1}:{run_id}"
    with engine.begin() as conn:
        done = conn.execute(sa.text(_SQL["release_request"]), {
            "id": report_id, "seen_run_id": seen_run_id, "marker": marker}).first()
    return done is not None
