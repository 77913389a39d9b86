"""What every `<report_type>_report` asset shares: config, per-organization export, metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pandas as pd
from pydantic import Field

from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.operations import export as exporter, records
from reporting_dagster.lib.documents.catalog import FORMATS
from reporting_dagster.lib.infra import settings
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.render.document import ReportDocument
from reporting_dagster.lib.documents.reports.common import ReportContext, branding_from, sections_from


class ExportConfig(dg.Config):
    formats: list[str] = Field(default=list(FORMATS), description="file formats to write")
    generated_at: str | None = Field(default=None, description="ISO timestamp to stamp (default: now, UTC)")
    include_empty_organizations: bool = Field(
        default=True,
        description="also write 'no data' files for every organization that existed in the month but has no rows "
                    "(switch off for very large tenancies: then only organizations with rows get files)",
    )

    def timestamp(self) -> dt.datetime:
        if not self.generated_at:
            return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        stamp = dt.datetime.fromisoformat(self.generated_at)
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)

    def checked_formats(self) -> tuple[str, ...]:
        unknown = sorted(set(self.formats) - set(FORMATS))
        if unknown:
            raise dg.Failure(f"unknown file format(s) {unknown}; choose from {list(FORMATS)}")
        return tuple(self.formats)


def export_organizations(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    platform_db: PlatformDatabase,
    report_store: ReportStore,
    *,
    report_type: str,
    period: BillingPeriod,
    organization_ids: Iterable[int],
    build: Callable[[int, ReportContext], ReportDocument],
) -> tuple[list[exporter.ExportedFile], list[ReportDocument]]:
    """Build and write every organization's files; raise dg.Failure listing any failed file.

    `organization_ids` are those with rows; the others that existed in the period get "no data"
    files unless the config switches that off.
    """
    engine = platform_db.engine
    store = report_store.store()
    organizations = platform_db.extract("organizations", period_end=period.end_date)
    names = organizations.set_index("organization_id")["organization_name"]
    generated_at = config.timestamp()
    formats = config.checked_formats()
    with_rows = list(organization_ids)
    targets = exporter.organizations_to_export(with_rows, organizations,
                                               include_empty=config.include_empty_organizations)
    if len(targets) > len(with_rows):
        context.log.info(f"{len(targets) - len(with_rows)} organization(s) without {report_type} rows get 'no data' files")
    # a re-executed step (or a step retry) keeps what its run family already completed
    family = [r for r in dict.fromkeys([context.run.run_id, context.run.parent_run_id, context.run.root_run_id]) if r]
    done = {k: (i, dataclasses.replace(o, uri=store.uri(o.key))) for k, (i, o) in records.completed_pack_files(
        engine, report_type=report_type, billing_period_id=period.id, run_ids=family).items()}
    if done:
        context.log.info(f"{len(done)} {report_type} file(s) completed earlier in this run family are kept")
    files: list[exporter.ExportedFile] = []
    docs: list[ReportDocument] = []

    def write(org_id: int, doc: ReportDocument, template_id: int | None) -> list[exporter.ExportedFile]:
        return exporter.export(
            engine, store, doc, billing_period_id=period.id, formats=formats, template_id=template_id,
            dagster_run_id=context.run.run_id,
            done={fmt: hit for (org, fmt), hit in done.items() if org == org_id},
        )

    # each file renders under the render budget in a worker process (lib/render/workers.py), so a
    # slow organization fails its own file; with REPORTS_RENDER_WORKERS > 1 organizations are
    # written side by side and one slow organization holds one worker, never the others
    pending = []
    with ThreadPoolExecutor(max_workers=settings.render_workers(), thread_name_prefix="export") as writers:
        for org_id in targets:
            template = records.active_template(engine, org_id, report_type)
            ctx = ReportContext(
                organization_id=org_id, organization_name=str(names.get(org_id, f"Organization {org_id}")),
                period=period, generated_at=generated_at, branding=branding_from(template, store, org_id),
                sections=sections_from(template), template_id=template.id if template else None,
            )
            doc = build(org_id, ctx)
            pending.append((org_id, doc, writers.submit(write, org_id, doc, ctx.template_id)))
        for org_id, doc, future in pending:  # in organization order, each as soon as it is written
            written = future.result()
            for f in written:
                if f.ok:
                    context.log.info(f"org {org_id} {f.file_format}: {f.stored.uri} ({f.stored.size} bytes, {f.seconds:.2f}s)")
                else:
                    context.log.error(f"org {org_id} {f.file_format}: generated_report {f.generated_report_id} failed: {f.error}")
            files.extend(written)
            docs.append(doc)
    failed = [f for f in files if not f.ok]
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(files)} {report_type} files failed",
            metadata={"failed": dg.MetadataValue.json(
                [{"generated_report_id": f.generated_report_id, "format": f.file_format, "error": f.error} for f in failed])},
        )
    return files, docs


def files_metadata(files: list[exporter.ExportedFile], docs: list[ReportDocument]) -> dict[str, dg.RawMetadataValue]:
    table = pd.DataFrame([
        {"generated_report_id": f.generated_report_id, "format": f.file_format, "uri": f.stored.uri,
         "bytes": f.stored.size, "seconds": round(f.seconds, 3)}
        for f in files if f.stored
    ])
    slowest = max((f.seconds for f in files if f.file_format == "pdf"), default=0.0)
    return {
        "organizations": len(docs),
        "organizations_without_data": sum(1 for d in docs if d.no_data),
        "files": len(files),
        "rows": sum(d.record_count for d in docs),
        "slowest_pdf_seconds": round(slowest, 3),
        "store_uris": dg.MetadataValue.md(table.to_markdown(index=False) if len(table) else "no files"),
    }
