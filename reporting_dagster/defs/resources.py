"""Resources, configured from the environment (DESIGN.md "Configuration").

The choice between the embedded database and a configured one, and between the local folder
and S3, is made here, once, when the code location loads; assets only see the interfaces.
"""

from __future__ import annotations

import contextlib
import functools
import os
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd
from dagster_aws.s3 import S3PickleIOManager, S3Resource
from pydantic import Field
from sqlalchemy.engine import Engine

from reporting_dagster.lib.infra import db, periods, platform_access, platform_schema, settings
from reporting_dagster.lib.infra.env import env_number
from reporting_dagster.lib.operations import heartbeat
from reporting_dagster.lib.operations.retention import INTERMEDIATES_FOLDER
from reporting_dagster.lib.infra.paths import state_dir
from reporting_dagster.lib.infra.limits import AwsLimits, s3_limits
from reporting_dagster.lib.infra.limits import check_environment as check_limit_variables
from reporting_dagster.lib.infra.store import MANIFEST, LocalStore, S3Store, Store, s3_client
from reporting_dagster.lib.requests.batch import batch_size


@functools.cache
def _engine_for(url_text: str | None) -> Engine:
    url = db.normalize_url(url_text) if url_text else db.embedded_url()
    return db.create_engine(url)


class PlatformDatabase(dg.ConfigurableResource):
    """The platform's PostgreSQL database; the embedded server when no URL is configured."""

    url: str | None = Field(default=None, description="SQLAlchemy or libpq URL; unset → embedded server")
    chunk_rows: int = Field(default=db.DEFAULT_CHUNK_ROWS, description="rows per streamed chunk")

    @contextlib.contextmanager
    def beating(self, run_id: str) -> Iterator[None]:
        """This process beats for the run while the block runs (lib/operations/heartbeat.py):
        steps that hold report rows wrap their work in it, so the reaper finds those rows within
        minutes should the process be killed. (Not setup_for_execution: that would make the
        resource a generator, which every sensor context would then have to open.)"""
        beat = heartbeat.Heartbeat(self.engine, run_id).start()
        try:
            yield
        finally:
            beat.stop()

    @property
    def engine(self) -> Engine:
        return _engine_for(self.url)

    def extract(self, query_name: str, **params) -> pd.DataFrame:
        """Run `sql/extracts/<query_name>.sql` for this database's schema (lib/infra/platform_schema.py),
        streamed in chunks, NUMERIC kept as Decimal."""
        sql = platform_schema.extract_sql(self.engine, query_name)
        return db.read_frame(self.engine, sql, params, self.chunk_rows)

    def check_access(self) -> None:
        """Fail the run before it reads anything when row-level security or a missing grant would
        make the platform tables look empty to this role (lib/infra/platform_access.py)."""
        try:
            platform_access.check_access(self.engine)
        except platform_access.PlatformAccessError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    def billing_period(self, partition_key: str) -> periods.BillingPeriod:
        """The platform's billing_period row for the partition (access checked first); a run
        failure that says what to do."""
        self.check_access()
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
    manifest: str | None = Field(default=None, description="JSON-lines file listing every file written with "
                                 "its readable name (organization – report – period)")

    def store(self) -> Store:
        return LocalStore(self.directory, manifest=self.manifest)


class TimedS3Resource(S3Resource):
    """dagster_aws's S3Resource with explicit connect and read timeouts (README "Timeouts and
    retries"): its own client sets only the retry count and leaves botocore's 60 s timeouts, and
    counts `max_attempts` as retries. Here `max_attempts` counts every attempt, the first included."""

    connect_timeout: float = Field(default=5.0, description="seconds to open a connection (REPORTS_S3_CONNECT_TIMEOUT)")
    read_timeout: float = Field(default=30.0, description="seconds to wait on any read or write (REPORTS_S3_READ_TIMEOUT)")

    def get_client(self, max_attempts: int | None = None) -> Any:
        return s3_client(
            endpoint_url=self.endpoint_url, region_name=self.region_name,
            limits=AwsLimits(self.connect_timeout, self.read_timeout, self.max_attempts), max_attempts=max_attempts,
            profile_name=self.profile_name, use_ssl=self.use_ssl, verify=self.verify,
            aws_access_key_id=self.aws_access_key_id, aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token, unsigned=self.use_unsigned_session)


def s3_resource_from_env() -> TimedS3Resource:
    """The S3 client settings of the report store, the S3 IO manager and S3 delivery (REPORTS_S3_*)."""
    limits = s3_limits()
    return TimedS3Resource(endpoint_url=_env("REPORTS_S3_ENDPOINT_URL"), region_name=_env("AWS_REGION"),
                           connect_timeout=limits.connect_timeout, read_timeout=limits.read_timeout,
                           max_attempts=limits.max_attempts)


class S3ReportStore(ReportStore):
    s3: S3Resource
    bucket: str
    prefix: str = ""

    def store(self) -> Store:
        s3 = self.s3
        read_back = functools.partial(s3.get_client, max_attempts=1) if isinstance(s3, TimedS3Resource) else None
        return S3Store(s3.get_client(), self.bucket, self.prefix, read_back_client=read_back)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def platform_database_from_env() -> PlatformDatabase:
    return PlatformDatabase(url=dg.EnvVar("REPORTING_DATABASE_URL") if _env("REPORTING_DATABASE_URL") else None)


def presigned_url_expiry() -> int:
    """`REPORTS_PRESIGNED_URL_EXPIRY`: seconds a download link lives (default 300)."""
    return int(env_number("REPORTS_PRESIGNED_URL_EXPIRY", 300, integer=True, minimum=1))


def report_store_from_env() -> ReportStore:
    expiry = presigned_url_expiry()
    if _env("REPORTS_S3_BUCKET"):
        return S3ReportStore(
            s3=s3_resource_from_env(),
            bucket=dg.EnvVar("REPORTS_S3_BUCKET"),
            prefix=_env("REPORTS_S3_PREFIX") or "",
            presigned_url_expiry=expiry,
        )
    directory = _env("REPORTS_LOCAL_DIR") or str(state_dir() / "reports")
    return LocalReportStore(directory=directory, manifest=os.path.join(directory, MANIFEST),
                            presigned_url_expiry=expiry)


def io_manager_from_env() -> dg.ConfigurableIOManager:
    """Where the extracts and report data between steps live: under `dagster-io/` of the report
    bucket when S3 is configured, so a step (a re-execution, one re-materialized export) may run on
    any machine; a folder under `.reporting/` otherwise. A bucket lifecycle rule expires them
    (lib/operations/retention.py `INTERMEDIATE_DAYS`): they are a cache of the month, not a record."""
    if _env("REPORTS_S3_BUCKET"):
        prefix = (_env("REPORTS_S3_PREFIX") or "").strip("/")
        return S3PickleIOManager(
            s3_resource=s3_resource_from_env(),
            s3_bucket=dg.EnvVar("REPORTS_S3_BUCKET"),
            s3_prefix=f"{prefix}/{INTERMEDIATES_FOLDER}" if prefix else INTERMEDIATES_FOLDER,
        )
    return dg.FilesystemIOManager(base_dir=str(state_dir() / INTERMEDIATES_FOLDER))


def check_environment() -> None:
    """Read every number the project takes from the environment once, so a bad value stops the
    code location from loading, naming the variable, rather than failing a run hours later."""
    check_limit_variables()  # README "Timeouts and retries"
    presigned_url_expiry()
    settings.check_environment()  # README "Rendering limits"
    delivery_policy_from_env()  # README "Delivery guarantees"
    batch_size()  # README "Requests and schedules"


def resources_from_env() -> dict[str, object]:
    check_environment()
    return {"io_manager": io_manager_from_env(),
            "platform_db": platform_database_from_env(), "report_store": report_store_from_env(),
            "report_mailer": report_mailer_from_env(), "delivery_s3": delivery_s3_from_env(),
            "request_processing": request_processing_from_env()}


# --- who processes the platform's report requests (README "Side by side with the platform's report processor") ---

PROCESS_REQUESTS_VARIABLE = "REPORTS_PROCESS_REQUESTS"
_SWITCH_VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class RequestProcessing(dg.ConfigurableResource):
    """Whether this code location processes the platform's report requests.

    On (the default): pending generated_report rows get runs, due scheduled_report slots are
    claimed, and pending rows that never got a run are failed by the reaper. Off: the platform's
    own processor owns those rows; the sensors stay in the code location and say on every tick
    why they do nothing, and the failure handling only touches rows a Dagster run of ours holds.
    The monthly pack, backfills and the launchpad run either way.

    The switch is read at tick time from this resource rather than by leaving the sensors out of
    Definitions: the UI then shows each sensor with the reason it skips (instead of a sensor that
    silently vanished), the code location has the same shape in every environment, and the
    run-failure sensor and the reaper are still needed for the pack's own rows when it is off.
    """

    enabled: bool = Field(default=True, description=f"{PROCESS_REQUESTS_VARIABLE}: process requests and schedules")

    @property
    def off_reason(self) -> str:
        return (f"{PROCESS_REQUESTS_VARIABLE} is off: the platform's own report processor handles pending "
                "generated_report rows and due scheduled_report rows")


def env_switch(name: str, default: bool) -> bool:
    """A true/false variable (1/0 and yes/no accepted, any case); anything else stops the load."""
    value = _env(name)
    if value is None:
        return default
    try:
        return _SWITCH_VALUES[value.lower()]
    except KeyError:
        raise ValueError(f"{name}={value!r} is not a switch: set it to true or false "
                         "(1/0 and yes/no are accepted too), or leave it unset for "
                         f"{'true' if default else 'false'}") from None


def request_processing_from_env() -> RequestProcessing:
    return RequestProcessing(enabled=env_switch(PROCESS_REQUESTS_VARIABLE, default=True))


# --- report e-mail and delivery (DESIGN.md "Configuration": SES, else SMTP, else the .eml outbox) ---

from reporting_dagster.lib.delivery.mail import Mailer, OutboxMailer, SesMailer, SmtpMailer  # noqa: E402
from reporting_dagster.lib.delivery.policy import DeliveryPolicy  # noqa: E402

DEFAULT_SENDER = "Reports <reports@localhost>"


class ReportMailer(dg.ConfigurableResource):
    """How report e-mail leaves, and who it is from; delivery code only sees a `Mailer`."""

    sender: str = Field(default=DEFAULT_SENDER, description="From: of every report e-mail")
    reply_to: str | None = Field(default=None, description="Reply-To: of every report e-mail")

    @abstractmethod
    def mailer(self) -> Mailer: ...


class SesReportMailer(ReportMailer):
    region: str = Field(description="SES region (AWS_SES_REGION)")
    endpoint_url: str | None = Field(default=None, description="SES-compatible endpoint (tests)")
    configuration_set: str | None = Field(default=None, description="SES configuration set, if any")

    def mailer(self) -> Mailer:
        ses = SesMailer.for_region(self.region, self.endpoint_url)
        ses.configuration_set = self.configuration_set
        return ses


class SmtpReportMailer(ReportMailer):
    url: str = Field(description="smtp://user:pass@host:port, smtps://…, or smtp://host:port?starttls=true")

    def mailer(self) -> Mailer:
        return SmtpMailer(self.url)


class OutboxReportMailer(ReportMailer):
    directory: str = Field(description="folder receiving one .eml file per message")

    def mailer(self) -> Mailer:
        return OutboxMailer(self.directory)


def report_mailer_from_env() -> ReportMailer:
    """SES when SES_FROM_EMAIL and AWS_SES_REGION are set, else SMTP (REPORTS_SMTP_URL), else the outbox.

    SES_FROM_EMAIL / SES_REPLY_TO_EMAIL are the sender and reply-to of every mailer when set.
    """
    sender = _env("SES_FROM_EMAIL") or DEFAULT_SENDER
    reply_to = _env("SES_REPLY_TO_EMAIL")
    if _env("SES_FROM_EMAIL") and _env("AWS_SES_REGION"):
        return SesReportMailer(sender=sender, reply_to=reply_to, region=_env("AWS_SES_REGION"))
    if _env("REPORTS_SMTP_URL"):
        # an EnvVar, so the password in the URL is never shown in the Dagster UI
        return SmtpReportMailer(sender=sender, reply_to=reply_to, url=dg.EnvVar("REPORTS_SMTP_URL"))
    return OutboxReportMailer(sender=sender, reply_to=reply_to, directory=str(state_dir() / "outbox"))


def delivery_buckets_from_env() -> list[str] | None:
    """REPORTS_S3_DELIVERY_BUCKETS (comma-separated): the only buckets scheduled_report.s3_destination
    may name. Required for S3 delivery: unset, every S3 delivery is refused with a message saying
    to set it (lib/delivery/deliver.py `s3_target`)."""
    value = _env("REPORTS_S3_DELIVERY_BUCKETS")
    return [b.strip() for b in value.split(",") if b.strip()] if value else None


_POLICY_VARIABLES = {  # variable → (DeliveryPolicy field, whole number, its range as env_number takes it)
    "REPORTS_DELIVERY_LEASE_SECONDS": ("lease_seconds", False, {"minimum": 0, "above_minimum": True}),
    "REPORTS_DELIVERY_MAX_ATTEMPTS": ("max_attempts", True, {"minimum": 1}),
    "REPORTS_DELIVERY_RETRY_BASE_SECONDS": ("retry_base_seconds", False, {"minimum": 0}),
    "REPORTS_DELIVERY_MAX_RECIPIENTS": ("max_recipients", True, {"minimum": 1}),
}


def delivery_policy_from_env() -> DeliveryPolicy:
    """Delivery lease, retries and recipient cap (lib/delivery/policy.py); a value that is not a
    finite number in range stops the code location from loading, saying which."""
    values = {attribute: env_number(name, getattr(DeliveryPolicy, attribute), integer=integer, **bounds)
              for name, (attribute, integer, bounds) in _POLICY_VARIABLES.items()}
    return DeliveryPolicy(**values)


class LocalDeliveryBuckets(S3Resource):
    """S3 delivery into a folder (lib/delivery/local_buckets.py): `<directory>/<bucket>/<key>`.
    The demo's choice (REPORTS_S3_DELIVERY_LOCAL_DIR), so a schedule's S3 copy can be seen
    without an S3 server; the bucket allow-list (REPORTS_S3_DELIVERY_BUCKETS) holds all the same."""

    directory: str = Field(description="folder standing in for S3: one sub-folder per bucket")

    def get_client(self, *args: Any, **kwargs: Any) -> Any:
        from reporting_dagster.lib.delivery.local_buckets import LocalBuckets

        return LocalBuckets(self.directory)


def delivery_s3_from_env() -> S3Resource:
    """The S3 client for copies to scheduled_report.s3_destination (same endpoint and limits as the
    report store), or the folder of REPORTS_S3_DELIVERY_LOCAL_DIR when that is set (`make demo/dev`)."""
    local = _env("REPORTS_S3_DELIVERY_LOCAL_DIR")
    if local:
        return LocalDeliveryBuckets(directory=local)
    return s3_resource_from_env()
