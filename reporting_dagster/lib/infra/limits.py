"""Timeouts and retry counts of every remote call (README "Timeouts and retries"), from the environment.

Without them a hung S3 endpoint held a file for 364 s (botocore's 60 s defaults, 6 attempts) and a
silent database forever. Every value has a default; a value that is not a positive number stops
the code location from loading, with a message that names the variable.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from typing import Any

from reporting_dagster.lib.infra.env import env_number

# botocore's standard retry mode waits rand(0,1) × min(base × 2**i, 20 s) before retry i+1; base is
# 1 s after a throttling answer, 50 ms after a timeout or a dropped connection. The bound takes 1 s.
_MAX_BACKOFF = 20.0
_jitter = random.random  # the SES retry's jitter (a test pins it)
_EXPECT_CONTINUE_WAIT = 1.0  # botocore's wait for "100 Continue" before an upload's body


def _number(name: str, default: float, *, integer: bool = False, zero_ok: bool = False) -> float:
    """A timeout or count: above 0 (0 allowed with `zero_ok`: no limit)."""
    return env_number(name, default, integer=integer, minimum=0.0, above_minimum=not zero_ok)


def backoff_bound(attempts: int) -> float:
    """The longest botocore's standard mode can sleep between `attempts` attempts (seconds)."""
    return sum(min(2.0 ** i, _MAX_BACKOFF) for i in range(max(attempts - 1, 0)))


@dataclass(frozen=True)
class AwsLimits:
    """Connect and read timeouts (seconds) and total attempts (the first one included) of one AWS client.

    The read timeout bounds every socket operation after the connection is made (sending the
    body, waiting for the answer), not the whole call: a server that trickles a byte every few
    seconds is not caught by it. A server that answers nothing is.
    """

    connect_timeout: float
    read_timeout: float
    max_attempts: int

    @classmethod
    def from_env(cls, service: str, connect: float = 5.0, read: float = 30.0, attempts: int = 3) -> AwsLimits:
        """REPORTS_{service}_CONNECT_TIMEOUT, REPORTS_{service}_READ_TIMEOUT, REPORTS_{service}_MAX_ATTEMPTS."""
        prefix = f"REPORTS_{service.upper()}"
        return cls(connect_timeout=_number(f"{prefix}_CONNECT_TIMEOUT", connect),
                   read_timeout=_number(f"{prefix}_READ_TIMEOUT", read),
                   max_attempts=int(_number(f"{prefix}_MAX_ATTEMPTS", attempts, integer=True)))

    def botocore_config(self, max_attempts: int | None = None, **extra: Any):
        """A botocore Config with these timeouts; `total_max_attempts` counts the first attempt
        (botocore's `max_attempts` would count retries only: 3 would mean 4 attempts)."""
        from botocore.config import Config

        attempts = self.max_attempts if max_attempts is None else max_attempts
        return Config(connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                      retries={"mode": "standard", "total_max_attempts": int(attempts)}, **extra)

    def call_bound(self, max_attempts: int | None = None, *, upload: bool = False) -> float:
        """Worst-case seconds one call can take against an endpoint that answers nothing:
        attempts × (connect + read) + the longest backoff between them. An upload (S3 PutObject)
        also waits up to 1 s per attempt for "100 Continue" before sending its body (botocore's
        fixed wait)."""
        attempts = self.max_attempts if max_attempts is None else max_attempts
        per_attempt = self.connect_timeout + self.read_timeout + (_EXPECT_CONTINUE_WAIT if upload else 0.0)
        return attempts * per_attempt + backoff_bound(attempts)


def s3_limits() -> AwsLimits:
    return AwsLimits.from_env("S3")


def ses_limits() -> AwsLimits:
    return AwsLimits.from_env("SES")


# --- SES: retry only what surely did not send ---

_SES_THROTTLING = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestThrottled",
                   "ServiceUnavailable"}


def ses_client(region: str | None, endpoint_url: str | None, limits: AwsLimits | None = None) -> Any:
    """An SES client with explicit timeouts that retries a send only when SES surely did not take it.

    botocore's own retries would also repeat a SendRawEmail whose answer timed out or whose
    connection dropped after the request went out; SES may have sent that message, and the
    repeat would send a second copy. So botocore is told to make one attempt, and a handler of
    its `needs-retry` event asks again only after a connection that never opened or a throttling /
    ServiceUnavailable answer, up to `max_attempts` in all, with jittered exponential backoff.
    """
    import boto3
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    limits = limits or ses_limits()
    client = boto3.client("ses", region_name=region, endpoint_url=endpoint_url,
                          config=limits.botocore_config(max_attempts=1))

    def needs_retry(attempts: int, response: Any = None, caught_exception: Any = None, **_: Any) -> float | None:
        if attempts >= limits.max_attempts:
            return None
        if caught_exception is not None:
            not_sent = isinstance(caught_exception, (ConnectTimeoutError, EndpointConnectionError))
        else:
            code = ((response or (None, {}))[1] or {}).get("Error", {}).get("Code")
            not_sent = code in _SES_THROTTLING
        return _jitter() * min(2.0 ** (attempts - 1), _MAX_BACKOFF) if not_sent else None

    for operation in ("SendRawEmail", "SendEmail"):
        client.meta.events.register(f"needs-retry.ses.{operation}", needs_retry,
                                    unique_id=f"reporting-ses-retry-{operation}")
    return client


# --- SMTP ---

SMTP_TIMEOUT_VARIABLE = "REPORTS_SMTP_TIMEOUT"
DEFAULT_SMTP_TIMEOUT = 30.0


def smtp_timeout(query_value: str | None = None) -> float:
    """Seconds for the SMTP connect and for every command's answer: the URL's `?timeout=`, else
    REPORTS_SMTP_TIMEOUT, else 30."""
    if query_value is not None and query_value.strip():
        try:
            value = float(query_value)
        except ValueError:
            value = -1.0
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"the SMTP URL's timeout={query_value!r} is not a number of seconds above 0; "
                             "write e.g. smtp://host:587?timeout=30")
        return value
    return _number(SMTP_TIMEOUT_VARIABLE, DEFAULT_SMTP_TIMEOUT)


# --- PostgreSQL ---

@dataclass(frozen=True)
class DatabaseLimits:
    """Seconds; a statement timeout of 0 means none (PostgreSQL's own meaning)."""

    connect_timeout: float = 10.0
    statement_timeout: float = 600.0
    idle_in_transaction_timeout: float = 300.0
    migration_statement_timeout: float = 3600.0

    @classmethod
    def from_env(cls) -> DatabaseLimits:
        d = cls()
        return cls(
            connect_timeout=_number("REPORTS_DB_CONNECT_TIMEOUT_SECONDS", d.connect_timeout),
            statement_timeout=_number("REPORTS_DB_STATEMENT_TIMEOUT_SECONDS", d.statement_timeout, zero_ok=True),
            idle_in_transaction_timeout=_number("REPORTS_DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS",
                                                d.idle_in_transaction_timeout, zero_ok=True),
            migration_statement_timeout=_number("REPORTS_DB_MIGRATION_STATEMENT_TIMEOUT_SECONDS",
                                                d.migration_statement_timeout, zero_ok=True),
        )


def milliseconds(seconds: float) -> int:
    return int(round(seconds * 1000))


def check_environment() -> None:
    """Read every limit once, so a bad value stops the code location from loading rather than a
    run later (the SMTP URL's own `?timeout=` is read when the mailer is made)."""
    s3_limits()
    ses_limits()
    smtp_timeout()
    DatabaseLimits.from_env()
