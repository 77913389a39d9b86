"""Retention (seed 000 §11): the daily archive/purge job and the S3 lifecycle rules installer.

Wired by definitions.py through the module-level names `report_retention`,
`report_retention_schedule` and `install_s3_lifecycle_rules`.
"""

import datetime as dt

import dagster as dg
from pydantic import Field

from reporting_dagster.defs.resources import PlatformDatabase, ReportStore
from reporting_dagster.lib.operations import retention
from reporting_dagster.lib.infra.store import S3Store

_LISTED = 100  # ids shown in metadata; the counts are always complete


class RetentionConfig(dg.Config):
    batch: int = Field(default=500, description="rows read per query page")
    archive_years: int = Field(default=retention.ARCHIVE_YEARS, description="years archived files are kept")


def _ids(values) -> dg.MetadataValue:
    return dg.MetadataValue.json(list(values)[:_LISTED])


@dg.op(out=dg.Out(dg.Nothing))
def archive_expired_reports(context: dg.OpExecutionContext, config: RetentionConfig,
                            platform_db: PlatformDatabase, report_store: ReportStore) -> None:
    """Moves completed reports past expires_at from reports/ to archive/ (GLACIER on S3)."""
    summary = retention.archive_expired(platform_db.engine, report_store.store(),
                                        now=dt.datetime.now(dt.timezone.utc), batch=config.batch)
    if summary.missing:
        context.log.warning(f"{len(summary.missing)} completed report(s) have no file in the store: "
                            f"generated_report ids {summary.missing[:_LISTED]}")
    for report_id, error in list(summary.failed.items())[:_LISTED]:
        context.log.error(f"generated_report {report_id} not archived: {error}")
    context.add_output_metadata({
        "archived": len(summary.archived),
        "missing_files": len(summary.missing),
        "failed": len(summary.failed),
        "archived_ids": _ids(summary.archived),
        "missing_ids": _ids(summary.missing),
        "failures": dg.MetadataValue.json({str(k): v for k, v in list(summary.failed.items())[:_LISTED]}),
    })


@dg.op(ins={"after_archive": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing))
def purge_old_archives(context: dg.OpExecutionContext, config: RetentionConfig,
                       platform_db: PlatformDatabase, report_store: ReportStore) -> None:
    """Deletes archived files older than the retention period; the rows stay as history."""
    summary = retention.purge_archive(platform_db.engine, report_store.store(),
                                      now=dt.datetime.now(dt.timezone.utc), years=config.archive_years,
                                      batch=config.batch)
    for key, error in list(summary.failed.items())[:_LISTED]:
        context.log.error(f"archive purge failed for {key}: {error}")
    context.add_output_metadata({
        "purged": len(summary.purged),
        "already_gone": len(summary.already_gone),
        "orphans_deleted": len(summary.orphans_deleted),
        "failed": len(summary.failed),
        "purged_ids": _ids(summary.purged),
        "orphan_keys": _ids(summary.orphans_deleted),
        "failures": dg.MetadataValue.json({str(k): v for k, v in list(summary.failed.items())[:_LISTED]}),
    })


@dg.job(description="Archive reports past expires_at (90 days) and delete archives older than 7 years.")
def report_retention():
    purge_old_archives(after_archive=archive_expired_reports())


report_retention_schedule = dg.ScheduleDefinition(
    job=report_retention, cron_schedule="30 3 * * *", execution_timezone="UTC",
    name="report_retention_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,  # a fresh deployment runs it without a toggle
)


@dg.op(out=dg.Out(dg.Nothing))
def put_s3_lifecycle_rules(context: dg.OpExecutionContext, report_store: ReportStore) -> None:
    """Installs the bucket rules matching the retention policy; a local store needs none."""
    store = report_store.store()
    if not isinstance(store, S3Store):
        message = ("The report store is a local folder: there is no bucket lifecycle to install. "
                   "The daily report_retention job archives and purges the files itself.")
        context.log.info(message)
        context.add_output_metadata({"installed": False, "message": message})
        return
    kept = retention.install_lifecycle_rules(store.client, store.bucket, store.prefix)
    rules = retention.s3_lifecycle_rules(store.prefix)
    message = f"Lifecycle rules installed on s3://{store.bucket} for prefix {store.prefix or '(none)'}."
    context.log.info(message)
    context.add_output_metadata({
        "installed": True,
        "message": message,
        "rules": dg.MetadataValue.json(rules),
        "other_rules_kept": dg.MetadataValue.json(kept),
    })


@dg.job(description="Put the retention policy's lifecycle rules on the S3 bucket (archive/ expiry, multipart cleanup).")
def install_s3_lifecycle_rules():
    put_s3_lifecycle_rules()
