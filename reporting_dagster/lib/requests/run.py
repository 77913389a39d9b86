"""Generate the report a generated_report row asks for, owning its lifecycle.

pending (or failed by this run's parent, on a retry) → processing → completed | failed. The
row is claimed for the run first, so a second run launched for the same row does nothing, nor
does a run whose row another processor took. An invalid request fails the row with a message
that tells the user what to fix; a row deleted or already taken meanwhile is skipped. The caller (the Dagster op) turns `outcome` into a run result.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from reporting_dagster.lib import render
from reporting_dagster.lib.operations import records
from reporting_dagster.lib.infra.installation import installation_token
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.requests.validate import InvalidRequest, ReportRequest, load_request, validate
from reporting_dagster.lib.requests.build import Read, build_request_document, context_for
from reporting_dagster.lib.infra.store import ObjectExists, Store, StoredObject, describe, report_key

@dataclass(frozen=True)
class RunOutcome:
    generated_report_id: int
    outcome: str  # completed | failed | invalid | skipped
    message: str = ""
    request: ReportRequest | None = None
    stored: StoredObject | None = None
    record_count: int = 0
    seconds: float = 0.0
    scheduled_report_id: int | None = None


def run_request(
    engine: Engine,
    store: Store,
    read: Read,
    report_id: int,
    *,
    run_id: str,
    parent_run_id: str | None = None,
    now: dt.datetime | None = None,
) -> RunOutcome:
    """`parent_run_id`: the run this one retries or re-executes; it may take over that run's row."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    row = load_request(engine, report_id)
    if row is None:
        return RunOutcome(report_id, "skipped", f"generated_report {report_id} no longer exists; nothing to do")
    sched = row.get("scheduled_report_id")
    org = int(row["organization_id"])
    if row["report_status"] == "completed":
        return RunOutcome(report_id, "completed", "already completed (a retried run); not rendered again",
                          scheduled_report_id=sched)
    if not records.claim_report(engine, report_id, run_id, parent_run_id):
        status = records.report_status(engine, report_id)
        return RunOutcome(report_id, "skipped", f"generated_report {report_id} is {status[0] if status else 'gone'}"
                          f"{' in run ' + str(status[1]) if status and status[1] else ''}; not taken by this run",
                          scheduled_report_id=sched)
    fail_kwargs = {"organization_id": org, "report_type": row["report_type"], "file_format": row["file_format"],
                   "dagster_run_id": run_id}
    try:
        request = validate(engine, row, today=now.date())
    except InvalidRequest as exc:
        message = records.fail_report(engine, report_id, str(exc), **fail_kwargs)
        return RunOutcome(report_id, "invalid", message, scheduled_report_id=sched,
                          seconds=time.perf_counter() - started)
    try:
        doc = build_request_document(request, read, context_for(request, store, now))
        if doc.check_errors:  # the same checks as the pack: nothing made or sent
            message = records.fail_report(engine, report_id, "; ".join(doc.check_errors), **fail_kwargs)
            return RunOutcome(report_id, "failed", message, request, scheduled_report_id=sched,
                              seconds=time.perf_counter() - started)
        data = render.render_within_budget(doc, request.file_format)
        # the same key on every attempt for this row (its id and creation time, this database's token)
        key = report_key(org, request.span.start_date, request.report_type, report_id,
                         render.EXTENSIONS[request.file_format], installation_token=installation_token(engine),
                         created_at=records.created_at(engine, report_id))
        stored = _put_once(store, key, data, render.CONTENT_TYPES[request.file_format])
        parameters = to_jsonable(doc.parameters)
        records.complete_report(
            engine, report_id, stored, organization_id=org, report_type=request.report_type,
            file_format=request.file_format, record_count=doc.record_count, summary=to_jsonable(doc.summary),
            parameters=parameters, dagster_run_id=run_id,
            generated={"generation_source": request.generation_source},
        )
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the op fails the run
        message = records.fail_report(engine, report_id, exc, **fail_kwargs)
        return RunOutcome(report_id, "failed", message, request, scheduled_report_id=sched,
                          seconds=time.perf_counter() - started)
    return RunOutcome(report_id, "completed", f"{stored.uri} ({stored.size} bytes)", request, stored,
                      doc.record_count, time.perf_counter() - started, sched)


def _put_once(store: Store, key: str, data: bytes, content_type: str) -> StoredObject:
    """Keys are written once. A retry after a crash between writing and recording finds the
    object its earlier attempt wrote for this same request (complete: puts are atomic) and
    records that one, so the file a link may already point to never changes. The key carries
    this database's token, so the object found is this database's, never another's with the
    same generated_report id."""
    try:
        return store.put(key, data, content_type)
    except ObjectExists:
        return describe(store, key, store.get(key))
