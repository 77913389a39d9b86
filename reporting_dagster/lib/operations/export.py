"""Write one organization's report in every format: generated_report row, render, store, audit.

Each file has its own generated_report row: `processing` before rendering, then `completed`
with path, size and hash, or `failed` with a short error (a row the reaper failed meanwhile
stays failed: completing is conditional on the row still being this run's). A failed format does not stop the
others; the caller learns about every failure and decides (the asset fails the run). Files render
in a worker process under the render budget (`render.render_within_budget`): one over its time or
size fails alone, with a message that says which limit and what to do.

The monthly pack writes files for every organization that existed in the month, not only those
with rows (`organizations_to_export`): an organization without data gets "no data" files
(record_count 0, `no_data` in summary_data), so a missing file always means something failed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from reporting_dagster.lib import render
from reporting_dagster.lib.delivery.filenames import document_filename
from reporting_dagster.lib.operations import records
from reporting_dagster.lib.infra.installation import installation_token
from reporting_dagster.lib.jsonutil import to_jsonable
from reporting_dagster.lib.render.document import ReportDocument
from reporting_dagster.lib.infra.store import Store, StoredObject, put_verified, report_key


@dataclass(frozen=True)
class ExportedFile:
    generated_report_id: int
    file_format: str
    stored: StoredObject | None
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None


def report_name(doc: ReportDocument) -> str:
    return f"{doc.definition.name} — {doc.organization_name} — {doc.period_label}"


def organizations_to_export(with_rows: Iterable[int], organizations: pd.DataFrame, *,
                            include_empty: bool) -> list[int]:
    """The organizations with rows, plus (include_empty) every one that existed in the period.

    `organizations` is the `organizations` extract (organization_id, existed_in_period). An
    organization with rows always gets its files, even if its created_at is after the period.
    """
    ids = {int(i) for i in with_rows}
    if include_empty and len(organizations):
        existed = organizations[organizations["existed_in_period"].astype(bool)]
        ids |= {int(i) for i in existed["organization_id"]}
    return sorted(ids)


def export(
    engine: Engine,
    store: Store,
    doc: ReportDocument,
    *,
    billing_period_id: int | None,
    formats: tuple[str, ...],
    template_id: int | None,
    dagster_run_id: str | None,
    generation_source: str = "scheduled",
    done: dict[str, tuple[int, StoredObject]] | None = None,
) -> list[ExportedFile]:
    """`done`: format → (row id, object) this run (or the run it re-executes) already completed;
    those files are kept as they are, not made again."""
    # the platform's web app lists summary_data: it tells "nothing to report" from a real summary
    summary = to_jsonable({**doc.summary, "no_data": True} if doc.no_data else doc.summary)
    parameters: dict[str, Any] = dict(doc.parameters)
    token = installation_token(engine)  # before any row: a database without one fails here, clearly
    out = []
    for fmt in formats:
        if done and fmt in done:
            out.append(ExportedFile(done[fmt][0], fmt, done[fmt][1], None, 0.0))
            continue
        started = time.perf_counter()
        report_id = records.start_report(
            engine, organization_id=doc.organization_id, report_type=doc.report_type, name=report_name(doc),
            file_format=fmt, billing_period_id=billing_period_id, parameters=parameters,
            report_template_id=template_id, dagster_run_id=dagster_run_id, generation_source=generation_source,
        )
        if doc.check_errors:  # nothing is made or sent for data that failed an ERROR check
            message = records.fail_report(
                engine, report_id, "; ".join(doc.check_errors), organization_id=doc.organization_id,
                report_type=doc.report_type, file_format=fmt, dagster_run_id=dagster_run_id)
            out.append(ExportedFile(report_id, fmt, None, message, time.perf_counter() - started))
            continue
        try:
            data = render.render_within_budget(doc, fmt)
            key = report_key(doc.organization_id, doc.period_start, doc.report_type, report_id, render.EXTENSIONS[fmt],
                             installation_token=token, created_at=records.created_at(engine, report_id))
            stored = put_verified(store, key, data, render.CONTENT_TYPES[fmt],
                                  download_name=document_filename(doc, render.EXTENSIONS[fmt]))
            if not records.complete_report(
                    engine, report_id, stored, organization_id=doc.organization_id, report_type=doc.report_type,
                    file_format=fmt, record_count=doc.record_count, summary=summary, parameters=parameters,
                    dagster_run_id=dagster_run_id):
                # the reaper failed the row meanwhile (this run looked dead): it stays failed
                state = records.report_status(engine, report_id)
                out.append(ExportedFile(report_id, fmt, None, f"generated_report {report_id} was "
                                        f"{state[0] if state else 'deleted'} before its file {key} was recorded",
                                        time.perf_counter() - started))
                continue
            out.append(ExportedFile(report_id, fmt, stored, None, time.perf_counter() - started))
        except Exception as exc:  # noqa: BLE001 - recorded on the row, reported by the caller
            message = records.fail_report(
                engine, report_id, exc, organization_id=doc.organization_id, report_type=doc.report_type,
                file_format=fmt, dagster_run_id=dagster_run_id,
            )
            out.append(ExportedFile(report_id, fmt, None, message, time.perf_counter() - started))
    return out
