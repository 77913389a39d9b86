"""`export_asset`: the one shape of every `<report_type>_report` asset.

Each export takes its report data asset (a result of every organization of the month), writes
every organization's files through `export_organizations` and returns the files' metadata plus
the report's own. Only three things differ per report type, and a declaration module gives them:
the per-organization document builder, the report's metadata, and its description.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg

from reporting_dagster.defs.exports.common import ExportConfig, export_organizations, files_metadata
from reporting_dagster.defs.partitions import billing_period
from reporting_dagster.defs.platform_tables import table_key
from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.render.document import ReportDocument
from reporting_dagster.lib.documents.reports.common import ReportContext

Builder = Callable[[int, ReportContext], ReportDocument]


def export_asset(
    *,
    report_type: str,
    source: str,
    builder: Callable[[Any], Builder],
    metadata: Callable[[Any], dict[str, Any]] = lambda result: {},
    description: str,
) -> dg.AssetsDefinition:
    """The `<report_type>_report` asset reading `source`; `builder(result)` makes each
    organization's document (it may prepare what every organization shares, once)."""

    @dg.asset(
        name=f"{report_type}_report",
        partitions_def=billing_period,
        group_name="exports",
        kinds={"pdf", "csv", "json", "html", "s3"},
        ins={"result": dg.AssetIn(key=source)},
        deps=[table_key("organization"), table_key("report_template"), dg.AssetKey("standard_report_templates")],
        pool="report_exports",
        description=description,
    )
    def _export(context: dg.AssetExecutionContext, config: ExportConfig, platform_db: PlatformDatabase,
                report_store: ReportStore, result: Any) -> dg.MaterializeResult:
        period = platform_db.billing_period(context.partition_key)
        with platform_db.beating(context.run.run_id):  # its file rows are `processing` meanwhile
            files, docs = export_organizations(
                context, config, platform_db, report_store, report_type=report_type, period=period,
                organization_ids=result.organization_ids(), build=builder(result),
            )
        return dg.MaterializeResult(metadata={**files_metadata(files, docs), **metadata(result)})

    return _export
