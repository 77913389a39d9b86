"""What every `<report_type>_report` asset shares: config, the month cut into chunks of
organizations, one chunk's export, metadata.

An export is a graph (factory.py): one step plans the chunks, one step per chunk writes its
organizations' files, one step collects. The chunk steps are what an executor spreads over
processes or machines (multiprocess, celery, k8s_job); what crosses between the steps (a `Chunk`,
a `ChunkFiles`) is small and goes through the IO manager, so any machine can run any step.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
from pydantic import Field

from reporting_dagster.defs import metadata
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.operations import export as exporter, records
from reporting_dagster.lib.documents.catalog import FORMATS
from reporting_dagster.lib.infra import settings
from reporting_dagster.lib.infra.env import env_number
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.render.document import ReportDocument
from reporting_dagster.lib.documents.reports.common import ReportContext, branding_from, sections_from

CHUNK_VARIABLE = "REPORTS_EXPORT_CHUNK_ORGANIZATIONS"
DEFAULT_CHUNK_ORGANIZATIONS = 10


def chunk_organizations() -> int:
    """`REPORTS_EXPORT_CHUNK_ORGANIZATIONS`: organizations per export step (default 10), the unit an
    executor places on a process or machine and a re-execution redoes (README "Production: across
    machines" for the bound it sets on a step's duration)."""
    return int(env_number(CHUNK_VARIABLE, DEFAULT_CHUNK_ORGANIZATIONS, integer=True, minimum=1))


class ExportConfig(dg.Config):
    formats: list[str] = Field(default=list(FORMATS), description="file formats to write")
    generated_at: str | None = Field(default=None, description="ISO timestamp to stamp (default: now, UTC)")
    include_empty_organizations: bool = Field(
        default=True,
        description="also write 'no data' files for every organization that existed in the month but has no rows "
                    "(switch off for very large tenancies: then only organizations with rows get files)",
    )
    chunk_organizations: int | None = Field(
        default=None, ge=1,
        description=f"organizations per export step (default: {CHUNK_VARIABLE}, else {DEFAULT_CHUNK_ORGANIZATIONS})",
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


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Organizations one step exports, with what every step of the export must agree on (the
    generation time is fixed once by the planning step, not by each chunk's clock)."""

    organization_ids: tuple[int, ...]
    names: dict[int, str]
    period: BillingPeriod
    generated_at: dt.datetime
    formats: tuple[str, ...]

    @property
    def key(self) -> str:
        """The dynamic mapping key: stable for the run, so a re-execution names the same chunk."""
        ids = self.organization_ids
        return f"orgs_{ids[0]}_to_{ids[-1]}" if ids else "no_organizations"


@dataclasses.dataclass(frozen=True)
class ChunkFiles:
    """What a chunk wrote, without the documents (those stay in the step that built them)."""

    organization_ids: tuple[int, ...]
    files: tuple[exporter.ExportedFile, ...]
    organizations: int
    organizations_without_data: int
    rows: int


def plan_chunks(
    context: dg.OpExecutionContext,
    config: ExportConfig,
    platform_db: PlatformDatabase,
    *,
    report_type: str,
    organization_ids: Iterable[int],
) -> list[Chunk]:
    """The month's organizations to export, in organization order, cut into chunks.

    `organization_ids` are those with rows; the others that existed in the period get "no data"
    files unless the config switches that off. No organization at all still makes one empty
    chunk, so the export's collect step runs and the asset is materialized (with zero files).
    """
    period = platform_db.billing_period(context.partition_key)
    organizations = platform_db.extract("organizations", period_end=period.end_date)
    names = organizations.set_index("organization_id")["organization_name"]
    with_rows = list(organization_ids)
    targets = exporter.organizations_to_export(with_rows, organizations,
                                               include_empty=config.include_empty_organizations)
    if len(targets) > len(with_rows):
        context.log.info(f"{len(targets) - len(with_rows)} organization(s) without {report_type} rows get 'no data' files")
    size = config.chunk_organizations or chunk_organizations()
    generated_at, formats = config.timestamp(), config.checked_formats()
    groups = [targets[i:i + size] for i in range(0, len(targets), size)] or [[]]
    chunks = [Chunk(organization_ids=tuple(g), names={o: str(names.get(o, f"Organization {o}")) for o in g},
                    period=period, generated_at=generated_at, formats=formats) for g in groups]
    context.log.info(f"{len(targets)} organization(s) in {len(chunks)} chunk(s) of at most {size}")
    return chunks


def export_chunk(
    context: dg.OpExecutionContext,
    platform_db: PlatformDatabase,
    report_store: ReportStore,
    *,
    report_type: str,
    chunk: Chunk,
    build: Callable[[int, ReportContext], ReportDocument],
) -> ChunkFiles:
    """Build and write the chunk's organizations' files; raise dg.Failure listing any failed file
    (the step fails, and a re-execution redoes this chunk alone, keeping its completed files)."""
    engine = platform_db.engine
    store = report_store.store()
    period = chunk.period
    # a re-executed step (or a step retry) keeps what its run family already completed
    family = [r for r in dict.fromkeys([context.run.run_id, context.run.parent_run_id, context.run.root_run_id]) if r]
    mine = set(chunk.organization_ids)
    done = {k: (i, dataclasses.replace(o, uri=store.uri(o.key))) for k, (i, o) in records.completed_pack_files(
        engine, report_type=report_type, billing_period_id=period.id, run_ids=family).items() if k[0] in mine}
    if done:
        context.log.info(f"{len(done)} {report_type} file(s) completed earlier in this run family are kept")
    files: list[exporter.ExportedFile] = []
    docs: list[ReportDocument] = []

    def write(org_id: int, doc: ReportDocument, template_id: int | None) -> list[exporter.ExportedFile]:
        return exporter.export(
            engine, store, doc, billing_period_id=period.id, formats=chunk.formats, template_id=template_id,
            dagster_run_id=context.run.run_id,
            done={fmt: hit for (org, fmt), hit in done.items() if org == org_id},
        )

    # each file renders under the render budget in a worker process (lib/render/workers.py), so a
    # slow organization fails its own file; with REPORTS_RENDER_WORKERS > 1 organizations are
    # written side by side and one slow organization holds one worker, never the others
    pending = []
    with ThreadPoolExecutor(max_workers=settings.render_workers(), thread_name_prefix="export") as writers:
        for org_id in chunk.organization_ids:
            template = records.active_template(engine, org_id, report_type)
            ctx = ReportContext(
                organization_id=org_id, organization_name=chunk.names[org_id],
                period=period, generated_at=chunk.generated_at, branding=branding_from(template, store, org_id),
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
            description=f"{len(failed)} of {len(files)} {report_type} files of organizations "
                        f"{chunk.organization_ids[0]}–{chunk.organization_ids[-1]} failed",
            metadata={"failed": dg.MetadataValue.json(
                [{"generated_report_id": f.generated_report_id, "format": f.file_format, "error": f.error} for f in failed])},
        )
    return ChunkFiles(organization_ids=chunk.organization_ids, files=tuple(files), organizations=len(docs),
                      organizations_without_data=sum(1 for d in docs if d.no_data),
                      rows=sum(d.record_count for d in docs))


def files_metadata(chunks: list[ChunkFiles]) -> dict[str, dg.RawMetadataValue]:
    chunks = sorted(chunks, key=lambda c: c.organization_ids)  # in organization order, however collected
    files = [f for c in chunks for f in c.files]
    rows = [{"generated_report_id": f.generated_report_id, "format": f.file_format, "uri": f.stored.uri,
             "bytes": f.stored.size, "seconds": round(f.seconds, 3)} for f in files if f.stored]
    slowest = max((f.seconds for f in files if f.file_format == "pdf"), default=0.0)
    return {
        "organizations": sum(c.organizations for c in chunks),
        "organizations_without_data": sum(c.organizations_without_data for c in chunks),
        "files": len(files),
        "rows": sum(c.rows for c in chunks),
        "slowest_pdf_seconds": round(slowest, 3),
        "chunks": len(chunks),
        "store_uris": dg.MetadataValue.md(metadata.markdown(rows, empty="no files")),
    }
