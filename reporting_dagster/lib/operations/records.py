"""generated_report and audit_event bookkeeping: the lifecycle of every report file.

A monthly-pack file's row is created `processing` before rendering; a request's `pending` row
is claimed into `processing` by its run. Either becomes `completed` (path, size, hash, record
count, summary) or `failed` (a short message, no credentials) afterwards.

Every change is one conditional UPDATE on the state its caller saw: a row completes only while
it is `processing` in the completing run (a row the reaper failed, or a user set back to
pending, is never turned back), fails only while it is unfinished in the failing run (a
completed report never turns into a failure, a user's retry is never failed for an earlier
run), and is claimed only from `pending` or from the run it retries.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.jsonutil import dumps
from reporting_dagster.lib.infra import db_errors
from reporting_dagster.lib.infra.paths import read_named_sql
from reporting_dagster.lib.infra.store import StoredObject
from reporting_dagster.lib.requests.parameters import MAX_PARAMETERS_BYTES, readable_parameters

_SQL = read_named_sql("report_records.sql")
MAX_ERROR_CHARS = 500
ANY_RUN = object()  # fail_unfinished: a pending row whatever run it names


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    file_format: str
    template_config: dict[str, Any]
    include_charts: bool
    include_summary: bool
    include_line_items: bool
    logo_path: str | None
    header_text: str | None
    footer_text: str | None
    brand_color: str | None
    default_contract_id: int | None = None
    organization_id: int | None = None  # whose template: its logo is read from that organization's folder only


def active_template(engine: Engine, organization_id: int, report_type: str) -> Template | None:
    with engine.connect() as conn:
        row = conn.execute(sa.text(_SQL["active_template"]),
                           {"organization_id": organization_id, "report_type": report_type}).mappings().first()
    return template_from_row(row) if row is not None else None


def template_from_row(row: Any) -> Template:
    """A report_template row as a Template; an unset include_* switch means on."""
    values = {k: row[k] for k in Template.__dataclass_fields__ if k in row}
    for flag in ("include_charts", "include_summary", "include_line_items"):
        values[flag] = True if values[flag] is None else bool(values[flag])
    return Template(**values)


def start_report(
    engine: Engine,
    *,
    organization_id: int,
    report_type: str,
    name: str,
    file_format: str,
    billing_period_id: int | None,
    parameters: dict[str, Any],
    report_template_id: int | None,
    dagster_run_id: str | None,
    generation_source: str = "scheduled",
) -> int:
    with engine.begin() as conn:
        return int(conn.execute(sa.text(_SQL["start_report"]), {
            "organization_id": organization_id, "report_template_id": report_template_id,
            "generation_source": generation_source, "report_type": report_type, "name": name[:255],
            "billing_period_id": billing_period_id, "parameters": dumps(parameters),
            "file_format": file_format, "dagster_run_id": dagster_run_id,
        }).scalar_one())


def completed_pack_files(engine: Engine, *, report_type: str, billing_period_id: int,
                         run_ids: list[str]) -> dict[tuple[int, str], tuple[int, StoredObject]]:
    """(organization, format) → (row id, stored object) of the files these runs already completed."""
    if not run_ids:
        return {}
    statement = sa.text(_SQL["completed_pack_files"]).bindparams(sa.bindparam("run_ids", expanding=True))
    with engine.connect() as conn:
        rows = conn.execute(statement, {"report_type": report_type, "billing_period_id": billing_period_id,
                                        "run_ids": run_ids}).mappings().all()
    return {(int(r["organization_id"]), r["file_format"]):
            (int(r["id"]), StoredObject(key=r["file_path"], uri=r["file_path"], size=int(r["file_size_bytes"] or 0),
                                        sha256=r["file_hash"] or "")) for r in rows}


def created_at(engine: Engine, report_id: int):
    """The row's creation time (part of its store key's token), None when the row has none."""
    with engine.connect() as conn:
        return conn.execute(sa.text(_SQL["created_at"]), {"id": report_id}).scalar_one_or_none()


def claim_report(engine: Engine, report_id: int, run_id: str, parent_run_id: str | None = None) -> dt.datetime | None:
    """Take a pending request row, or one this run or its parent run holds or failed itself, for
    this run; returns the attempt's start (its identity in the store key), None when not taken.
    A row set back to pending after it completed loses its old file columns here."""
    with engine.begin() as conn:
        return conn.execute(sa.text(_SQL["claim_report"]), {
            "id": report_id, "dagster_run_id": run_id, "parent_run_id": parent_run_id or run_id}).scalar()


def claim_completed(engine: Engine, report_id: int, run_id: str, *, file_path: str | None,
                    file_hash: str | None) -> dt.datetime | None:
    """Take a completed row whose stored object is gone or changed, for this run to make again:
    only while it still names the object the caller checked. Returns the attempt's start."""
    with engine.begin() as conn:
        return conn.execute(sa.text(_SQL["claim_completed"]), {
            "id": report_id, "dagster_run_id": run_id, "file_path": file_path, "file_hash": file_hash,
        }).scalar()


def reject_request(engine: Engine, report_id: int, error: str, *, run_id: str, parent_run_id: str | None,
                   organization_id: int, report_type: str, file_format: str) -> bool:
    """Fail a request whose own values are invalid, in the one statement that would have claimed
    it (same condition: pending, or this run's or its parent's), with its REPORT_FAILED event in
    the same transaction. False when the row was not this run's to take."""
    message = short_error(error)
    with engine.begin() as conn:
        row = conn.execute(sa.text(_SQL["reject_request"]), {
            "id": report_id, "error": message, "dagster_run_id": run_id,
            "parent_run_id": parent_run_id or run_id, "max_bytes": MAX_PARAMETERS_BYTES}).first()
        if row is None:
            return False
        _audit_failure(conn, report_id, message, row, organization_id=organization_id, report_type=report_type,
                       file_format=file_format, dagster_run_id=run_id)
    return True


def completed_attempts(engine: Engine, report_id: int) -> int:
    """How many attempts on this row completed (REPORT_EXPORTED): an attempt after one gets a
    store key of its own, as the earlier object may have been delivered (objects are written once)."""
    with engine.connect() as conn:
        return int(conn.execute(sa.text(_SQL["completed_attempts"]), {"id": report_id}).scalar_one())


def report_status(engine: Engine, report_id: int) -> tuple[str, str | None] | None:
    """(status, run id) of a row, or None when it is gone."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(_SQL["report_status"]), {"id": report_id}).first()
    return (row.report_status, row.dagster_run_id) if row else None


def complete_report(
    engine: Engine,
    report_id: int,
    stored: StoredObject,
    *,
    organization_id: int,
    report_type: str,
    file_format: str,
    record_count: int,
    summary: dict[str, Any],
    parameters: dict[str, Any],
    dagster_run_id: str | None,
    generated: dict[str, Any] | None = None,
) -> bool:
    """Mark the row completed and append REPORT_EXPORTED (and REPORT_GENERATED with `generated`
    details, for requests), in one transaction; only while the row is `processing` in this run.
    False (nothing written) when it was failed or taken meanwhile: the caller delivers nothing."""
    details = {"report_type": report_type, "file_format": file_format, "parameters": parameters,
               "record_count": record_count, "file_path": stored.key, "run_id": dagster_run_id}
    actor = f"dagster:{dagster_run_id}" if dagster_run_id else "dagster"
    with engine.begin() as conn:
        done = conn.execute(sa.text(_SQL["complete_report"]), {
            "id": report_id, "file_path": stored.key, "file_size_bytes": stored.size,
            "file_hash": stored.sha256, "record_count": record_count, "summary_data": dumps(summary),
            "dagster_run_id": dagster_run_id,
        }).first()
        if done is None:
            return False
        conn.execute(sa.text(_SQL["audit"]), {"organization_id": organization_id, "event_type": "REPORT_EXPORTED",
                                               "entity_id": report_id, "actor": actor, "details": dumps(details)})
        if generated is not None:
            conn.execute(sa.text(_SQL["audit"]), {"organization_id": organization_id, "event_type": "REPORT_GENERATED",
                                                   "entity_id": report_id, "actor": actor,
                                                   "details": dumps({**details, **generated})})
    return True


def fail_report(
    engine: Engine,
    report_id: int,
    error: BaseException | str,
    *,
    organization_id: int,
    report_type: str,
    file_format: str,
    dagster_run_id: str | None,
) -> str:
    """Mark the row failed, if it is still `processing` in this run, with a short,
    credential-free message; return that message."""
    return _fail(engine, report_id, error, organization_id=organization_id, report_type=report_type,
                 file_format=file_format, dagster_run_id=dagster_run_id, pending=False, outside=False)[0]


def fail_unfinished(engine: Engine, report_id: int, error: BaseException | str, *, pending: bool = True,
                    processing: bool = True, started_at: Any = None, pending_run_id: Any = ANY_RUN,
                    **kwargs: Any) -> bool:
    """Like fail_report; True only when this call failed the row, so a notice or log line follows
    exactly once. `processing`: a row processing in `dagster_run_id` (and, given `started_at`,
    claimed at that moment: a later claim is someone else's). `pending`: a pending row (given
    `pending_run_id`, only while its dagster_run_id is still that: the run key the caller
    judged); it records `dagster_run_id` as the run that did not take it, so setting the row
    back to pending gives it a new run key. The failure is from outside the run: the row then
    names 'reaped:<run id>', which no retry of that run takes over (sql claim_report)."""
    return _fail(engine, report_id, error, pending=pending, processing=processing, started_at=started_at,
                 pending_run_id=pending_run_id, outside=True, **kwargs)[1]


def _fail(engine: Engine, report_id: int, error: BaseException | str, *, organization_id: int, report_type: str,
          file_format: str, dagster_run_id: str | None, pending: bool = True, processing: bool = True,
          started_at: Any = None, pending_run_id: Any = ANY_RUN, outside: bool = False) -> tuple[str, bool]:
    message = short_error(error)
    with engine.begin() as conn:
        row = conn.execute(sa.text(_SQL["fail_report"]), {
            "id": report_id, "error": message, "dagster_run_id": dagster_run_id,
            "pending": pending, "processing": processing, "started_at": started_at, "outside": outside,
            "check_pending_run": pending_run_id is not ANY_RUN,
            "pending_run_id": None if pending_run_id is ANY_RUN else pending_run_id,
            "max_bytes": MAX_PARAMETERS_BYTES}).first()
        if row is None:
            return message, False
        _audit_failure(conn, report_id, message, row, organization_id=organization_id, report_type=report_type,
                       file_format=file_format, dagster_run_id=dagster_run_id)
    return message, True


def _audit_failure(conn: sa.Connection, report_id: int, message: str, row: Any, *, organization_id: int,
                   report_type: str, file_format: str, dagster_run_id: str | None) -> None:
    """REPORT_FAILED with the row's parameters when they are readable (else none: the event is
    written whatever the row holds)."""
    conn.execute(sa.text(_SQL["audit"]), {
        "organization_id": organization_id, "event_type": "REPORT_FAILED", "entity_id": report_id,
        "actor": f"dagster:{dagster_run_id}" if dagster_run_id else "dagster",
        "details": dumps({"report_type": report_type, "file_format": file_format, "error": message,
                          "parameters": readable_parameters(row.parameters), "record_count": row.record_count,
                          "run_id": dagster_run_id}),
    })


# everything between the scheme and the last @ of a URL (passwords may contain / or @)
_URL_CREDENTIALS = re.compile(r"([a-z][a-z0-9+.-]*://)[^\s]*@", re.IGNORECASE)
_SECRETS = re.compile(r"(password|passwd|secret|token|access[_-]?key|x-amz-signature|x-amz-credential|signature)"
                      r"\s*[=:]\s*[^\s&]+", re.IGNORECASE)


def short_error(error: BaseException | str) -> str:
    """One line, at most MAX_ERROR_CHARS, with URL credentials and key=value secrets removed.
    A database error keeps the driver's cause, what to do and the statement's verb and table,
    never the SQL text or its parameters (lib/infra/db_errors.py)."""
    text = db_errors.describe(error)
    if text is None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    text = " ".join(text.split())
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _SECRETS.sub(r"\1=***", text)
    return text[:MAX_ERROR_CHARS]


def loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def latest_files(engine: Engine, period_start) -> list[dict[str, Any]]:
    """The newest file per organization, report type and format of the month starting then."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(_SQL["latest_files"]), {"start_date": period_start}).mappings()]
