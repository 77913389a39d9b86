"""Generate the report a generated_report row asks for, owning its lifecycle.

pending (or failed by this run's parent, on a retry) → processing → completed | failed. The
row's own values are checked first (lib/requests/parameters.py): a row they do not pass is
failed, with a message that says what to fix, by the statement that would have claimed it.
Otherwise the row is claimed for the run, so a second run launched for the same row does
nothing, nor does a run whose row another processor took; everything after the claim ends the
row `failed` with a message, or `completed` — and completing is conditional on the row still
being this run's (`lost` when the reaper failed it or a user set it back to pending meanwhile:
nothing is recorded or delivered). A completed row is answered "already completed" only while
its stored object is there with its recorded hash; otherwise it is made again.
The caller (the Dagster op) turns `outcome` into a run result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from reporting_dagster.lib import render
from reporting_dagster.lib.delivery.filenames import document_filename
from reporting_dagster.lib.operations import records
from reporting_dagster.lib.infra.installation import installation_token
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.requests.validate import (
    InvalidRequest,
    ReportRequest,
    RequestFields,
    check_fields,
    load_request,
    validate,
)
from reporting_dagster.lib.requests.build import Read, build_request_document, context_for
from reporting_dagster.lib.infra.store import ObjectExists, Store, StoredObject, describe, report_key


@dataclass(frozen=True)
class RunOutcome:
    generated_report_id: int
    outcome: str  # completed | failed | invalid | skipped | lost
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
    fail_kwargs = {"organization_id": org, "report_type": row["report_type"], "file_format": row["file_format"],
                   "dagster_run_id": run_id}

    def ended(outcome: str, message: str, request: ReportRequest | None = None) -> RunOutcome:
        return RunOutcome(report_id, outcome, message, request, scheduled_report_id=sched,
                          seconds=time.perf_counter() - started)

    fields: RequestFields | None = None
    again = ""
    if row["report_status"] == "completed":
        if row.get("dagster_run_id") is None:
            return ended("skipped", f"generated_report {report_id} was completed by another processor; left as it is")
        problem = stored_problem(store, row.get("file_path"), row.get("file_hash"))
        if problem is None:
            return ended("completed", "already completed (a retried run); not rendered again")
        claimed = records.claim_completed(engine, report_id, run_id, file_path=row.get("file_path"),
                                          file_hash=row.get("file_hash"))
        if claimed is None:
            return ended("skipped", _not_taken(engine, report_id))
        again = f"{problem}; making it again: "
    else:
        try:
            fields = check_fields(row)
        except InvalidRequest as exc:
            if records.reject_request(engine, report_id, str(exc), run_id=run_id, parent_run_id=parent_run_id,
                                      organization_id=org, report_type=row["report_type"],
                                      file_format=row["file_format"]):
                return ended("invalid", records.short_error(str(exc)))
            return ended("skipped", _not_taken(engine, report_id))
        claimed = records.claim_report(engine, report_id, run_id, parent_run_id)
        if claimed is None:
            return ended("skipped", _not_taken(engine, report_id))
    try:
        request = validate(engine, row, today=now.date(), fields=fields)
    except InvalidRequest as exc:
        return ended("invalid", again + records.fail_report(engine, report_id, str(exc), **fail_kwargs))
    except Exception as exc:  # noqa: BLE001 - whatever it is, the claimed row ends failed, saying so
        return ended("failed", again + records.fail_report(engine, report_id, exc, **fail_kwargs))
    try:
        doc = build_request_document(request, read, context_for(request, store, now))
        if doc.check_errors:  # the same checks as the pack: nothing made or sent
            message = records.fail_report(engine, report_id, "; ".join(doc.check_errors), **fail_kwargs)
            return ended("failed", message, request)
        data = render.render_within_budget(doc, request.file_format)
        key = _store_key(engine, request, report_id, claimed)
        stored = _put_once(store, key, data, render.CONTENT_TYPES[request.file_format],
                           document_filename(doc, render.EXTENSIONS[request.file_format]))
        parameters = to_jsonable(doc.parameters)
        recorded = records.complete_report(
            engine, report_id, stored, organization_id=org, report_type=request.report_type,
            file_format=request.file_format, record_count=doc.record_count, summary=to_jsonable(doc.summary),
            parameters=parameters, dagster_run_id=run_id,
            generated={"generation_source": request.generation_source},
        )
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the op fails the run
        return ended("failed", again + records.fail_report(engine, report_id, exc, **fail_kwargs), request)
    if not recorded:
        return ended("lost", f"generated_report {report_id} was {_state(engine, report_id)} by the time its file "
                             f"was stored: {stored.key} not recorded, nothing delivered", request)
    return RunOutcome(report_id, "completed", f"{again}{stored.uri} ({stored.size} bytes)", request, stored,
                      doc.record_count, time.perf_counter() - started, sched)


def stored_problem(store: Store, key: str | None, sha256: str | None) -> str | None:
    """What is wrong with a completed row's stored object: None when it is there with the recorded
    hash (a row without a recorded hash: when it is there)."""
    if not key:
        return "it names no stored file"
    if not store.exists(key):
        return f"its stored file {key} is missing"
    if sha256 and hashlib.sha256(store.get(key)).hexdigest() != sha256:
        return f"its stored file {key} no longer has the recorded contents (sha256 {sha256[:12]}…)"
    return None


def _state(engine: Engine, report_id: int) -> str:
    status = records.report_status(engine, report_id)
    if status is None:
        return "gone"
    return f"{status[0]} in run {status[1]}" if status[1] else status[0]


def _not_taken(engine: Engine, report_id: int) -> str:
    return f"generated_report {report_id} is {_state(engine, report_id)}; not taken by this run"


def _store_key(engine: Engine, request: ReportRequest, report_id: int, claimed_at: dt.datetime) -> str:
    """`report_key` (its id and creation time, this database's token), then `-a{n}` once n
    attempts completed, then `-c{claim}`: when this attempt was claimed from pending (or from
    completed, its object gone), in microseconds since the epoch. A step retry or a retry of the
    run takes the row over without a new claim (sql claim_report keeps processing_started_at), so
    after a failure between writing and recording it finds the object it wrote and records that
    one. A new claim — the user fixed the data and set the row back to pending — writes a key of
    its own, never adopting an earlier attempt's leftover bytes (keys are written once)."""
    ext = render.EXTENSIONS[request.file_format]
    key = report_key(request.organization_id, request.span.start_date, request.report_type, report_id, ext,
                     installation_token=installation_token(engine), created_at=records.created_at(engine, report_id))
    attempt = records.completed_attempts(engine, report_id)
    stem = f"{key[:-len(ext) - 1]}-a{attempt}" if attempt else key[:-len(ext) - 1]
    return f"{stem}-c{int(claimed_at.timestamp() * 1_000_000)}.{ext}"


def _put_once(store: Store, key: str, data: bytes, content_type: str, download_name: str) -> StoredObject:
    """Keys are written once. A retry after a crash between writing and recording finds the
    object its earlier try of this same attempt (same claim: see _store_key) wrote (complete:
    puts are atomic) and records that one, so the file a link may already point to never changes. The key carries
    this database's token, so the object found is this database's, never another's with the
    same generated_report id."""
    try:
        return store.put(key, data, content_type, download_name=download_name)
    except ObjectExists:
        return describe(store, key, store.get(key))
