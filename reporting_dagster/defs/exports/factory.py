"""`export_asset`: the one shape of every `<report_type>_report` asset.

Each export takes its report data asset (a result of every organization of the month) and is a
graph of three ops, so an executor can place the organizations' work on other processes or
machines:

    <rt>_chunks  ─ DynamicOut: the month's organizations cut into chunks (REPORTS_EXPORT_CHUNK_ORGANIZATIONS)
      └ <rt>_chunk[orgs_a_to_b] … (mapped, pool "report_exports") each writes its organizations' files
          └ <rt>_files (collect): the asset's materialization, files' metadata plus the report's own

A chunk with a failed file fails its own step; re-executing the run from failure runs that chunk
again (its completed files kept) and the collect step, nothing else. Run config stays where it
was: `ops: {<rt>_report: {config: ExportConfig}}`, mapped onto the planning op.

Only three things differ per report type, and a declaration module gives them: the
per-organization document builder, the report's metadata, and its description.
"""

import os
from collections.abc import Callable
from typing import Any

import dagster as dg

from reporting_dagster.defs.exports.common import (
    Chunk, ChunkFiles, ExportConfig, export_chunk, files_metadata, plan_chunks,
)
from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.documents.catalog import FORMATS
from reporting_dagster.lib.render.document import ReportDocument
from reporting_dagster.lib.documents.reports.common import ReportContext

Builder = Callable[[int, ReportContext], ReportDocument]
POOL = "report_exports"
FILES = " — PDF, CSV, XLSX, JSON and HTML files for each organization, each file recorded in generated_report."


def export_asset(
    *,
    report_type: str,
    source: str,
    builder: Callable[[Any], Builder],
    metadata: Callable[[Any], dict[str, Any]] = lambda result: {},
    description: str,
) -> dg.AssetsDefinition:
    """The `<report_type>_report` asset reading `source`; `builder(result)` makes each
    organization's document (it may prepare what every organization shares, once per chunk)."""
    plan_name = f"{report_type}_chunks"

    @dg.op(name=plan_name, ins={"after": dg.In(dg.Nothing)},
           out={"chunks": dg.DynamicOut(Chunk), "report_metadata": dg.Out(dict)})
    def _plan(context: dg.OpExecutionContext, config: ExportConfig, platform_db: PlatformDatabase, result: Any):
        """Cut the month into chunks; the report's own metadata is taken here, from the one copy
        of the result this op loads, so the collect step need not load it again."""
        yield dg.Output(metadata(result), output_name="report_metadata")
        for chunk in plan_chunks(context, config, platform_db, report_type=report_type,
                                 organization_ids=result.organization_ids()):
            yield dg.DynamicOutput(chunk, mapping_key=chunk.key, output_name="chunks")

    @dg.op(name=f"{report_type}_chunk", pool=POOL)
    def _chunk(context: dg.OpExecutionContext, platform_db: PlatformDatabase, report_store: ReportStore,
               chunk: Chunk, result: Any) -> ChunkFiles:
        with platform_db.beating(context.run.run_id):  # its file rows are `processing` meanwhile
            return export_chunk(context, platform_db, report_store, report_type=report_type, chunk=chunk,
                                build=builder(result))

    @dg.op(name=f"{report_type}_files", out=dg.Out(dg.Nothing))
    def _collect(written: list[ChunkFiles], report_metadata: dict):
        return dg.Output(None, metadata={**files_metadata(written), **report_metadata})

    @dg.graph_asset(
        name=f"{report_type}_report",
        partitions_def=billing_period,
        group_name="exports",
        kinds=export_kinds(),
        ins={"result": dg.AssetIn(key=source),
             **{name: dg.AssetIn(key=key, dagster_type=dg.Nothing) for name, key in _DEPS.items()}},
        config=dg.ConfigMapping(config_fn=lambda cfg: {plan_name: {"config": cfg}},
                                config_schema=ExportConfig.to_config_schema()),
        description=description,
    )
    def _export(result, organization_table, report_template_table, standard_report_templates):
        chunks, report_metadata = _plan(
            result=result, after=[organization_table, report_template_table, standard_report_templates])
        written = chunks.map(lambda chunk: _chunk(chunk=chunk, result=result))
        return _collect(written=written.collect(), report_metadata=report_metadata)

    return _export


def export_kinds() -> set[str]:
    """The file formats written, plus `s3` only when the environment's report store is S3 (the
    resource choice made at load, defs/resources.py): a local folder gets no storage kind."""
    return {*FORMATS, *({"s3"} if os.environ.get("REPORTS_S3_BUCKET", "").strip() else set())}


_DEPS = {  # upstream assets the export reads outside its input (organization names, templates)
    "organization_table": table_key("organization"),
    "report_template_table": table_key("report_template"),
    "standard_report_templates": dg.AssetKey("standard_report_templates"),
}
