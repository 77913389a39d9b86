"""Resources, configured from the environment (DESIGN.md "Configuration").

The choice between the embedded database and a configured one, and between the local folder
and S3, is made here, once, when the code location loads; assets only see the interfaces.
"""

from __future__ import annotations

import functools
import os
from abc import abstractmethod

import dagster as dg
import pandas as pd
from dagster_aws.s3 import S3Resource
from pydantic import Field
from sqlalchemy.engine import Engine

from reporting_dagster.lib import db, periods
from reporting_dagster.lib.paths import read_sql, state_dir
from reporting_dagster.lib.store import LocalStore, S3Store, Store


@functools.cache
def _engine_for(url_text: str | None) -> Engine:
    url = db.normalize_url(url_text) if url_text else db.embedded_url()
    return db.create_engine(url)


class PlatformDatabase(dg.ConfigurableResource):
    """The platform's PostgreSQL database; the embedded server when no URL is configured."""

    url: str | None = Field(default=None, description="SQLAlchemy or libpq URL; unset → embedded server")
    chunk_rows: int = Field(default=db.DEFAULT_CHUNK_ROWS, description="rows per streamed chunk")

    @property
    def engine(self) -> Engine:
        return _engine_for(self.url)

    def extract(self, query_name: str, **params) -> pd.DataFrame:
        """Run `sql/extracts/<query_name>.sql`, streamed in chunks, NUMERIC kept as Decimal."""
        return db.read_frame(self.engine, read_sql(query_name), params, self.chunk_rows)

    def billing_period(self, partition_key: str) -> periods.BillingPeriod:
        """The platform's billing_period row for the partition; a run failure that says what to do."""
        try:
            return periods.resolve(self.engine, partition_key)
        except periods.BillingPeriodNotFound as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None


class ReportStore(dg.ConfigurableResource):
    """Where report files go: put once, get, exists, download URL."""

    presigned_url_expiry: int = Field(default=300, description="seconds a download link lives")

    @abstractmethod
    def store(self) -> Store: ...


class LocalReportStore(ReportStore):
    directory: str = Field(description="folder holding the report files")

    def store(self) -> Store:
        return LocalStore(self.directory)


class S3ReportStore(ReportStore):
    s3: S3Resource
    bucket: str
    prefix: str = ""

    def store(self) -> Store:
        return S3Store(self.s3.get_client(), self.bucket, self.prefix)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def platform_database_from_env() -> PlatformDatabase:
    return PlatformDatabase(url=dg.EnvVar("REPORTING_DATABASE_URL") if _env("REPORTING_DATABASE_URL") else None)


def report_store_from_env() -> ReportStore:
    expiry = int(_env("REPORTS_PRESIGNED_URL_EXPIRY") or 300)
    if _env("REPORTS_S3_BUCKET"):
        return S3ReportStore(
            s3=S3Resource(endpoint_url=_env("REPORTS_S3_ENDPOINT_URL"), region_name=_env("AWS_REGION")),
            bucket=dg.EnvVar("REPORTS_S3_BUCKET"),
            prefix=_env("REPORTS_S3_PREFIX") or "",
            presigned_url_expiry=expiry,
        )
    directory = _env("REPORTS_LOCAL_DIR") or str(state_dir() / "reports")
    return LocalReportStore(directory=directory, presigned_url_expiry=expiry)


def resources_from_env() -> dict[str, object]:
    return {"platform_db": platform_database_from_env(), "report_store": report_store_from_env()}
