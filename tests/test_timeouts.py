"""Timeouts and retries of the remote calls (README "Timeouts and retries"), against real servers
behind the fault-injecting proxy (tests/fault_proxy.py): a hung remote fails within the stated
bound with a clear message, and the retry completes exactly once."""

import glob
import os
import threading
import time
import urllib.parse

import boto3
import pytest
import sqlalchemy as sa

from reporting_dagster.defs.resources import (
    S3ReportStore,
    TimedS3Resource,
    delivery_s3_from_env,
    io_manager_from_env,
    report_store_from_env,
)
from reporting_dagster.lib.delivery.mail import SesMailer, SmtpMailer
from reporting_dagster.lib.infra import db, limits
from reporting_dagster.lib.infra.limits import AwsLimits, DatabaseLimits
from reporting_dagster.lib.infra.store import StoreUnreachable, put_verified
from reporting_dagster.lib.operations.records import MAX_ERROR_CHARS, short_error
from tests.fault_proxy import fault_proxy  # noqa: F401
from tests.smtp_server import smtp_server  # noqa: F401
from tests.test_mail import _report_message

KEY = "reports/1/2026/10/x-1-abcdef0123.csv"
DATA = b"a,b\r\n1,2\r\n"


def _port(url: str) -> int:
    return urllib.parse.urlsplit(url).port


def _keys(s3_endpoint: str, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _store_through(proxy, bucket: str, connect: float = 1.0, read: float = 1.0, attempts: int = 2):
    s3 = TimedS3Resource(endpoint_url=proxy.rewrite("http://x:1"), region_name="us-east-1",
                         connect_timeout=connect, read_timeout=read, max_attempts=attempts)
    return S3ReportStore(s3=s3, bucket=bucket).store()


# --- S3 ---

def test_s3_limits_default_and_follow_the_environment(monkeypatch, s3_endpoint, s3_bucket):
    for name in ("REPORTS_S3_CONNECT_TIMEOUT", "REPORTS_S3_READ_TIMEOUT", "REPORTS_S3_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    s3 = limits.s3_limits()
    assert s3 == AwsLimits(5.0, 30.0, 3)
    # a GET or HEAD: 3 attempts × (5 s connect + 30 s read) + backoff before retries 2 and 3 (≤ 1 s, ≤ 2 s)
    assert s3.call_bound() == 108.0
    # a PUT: each attempt also waits up to 1 s for "100 Continue": 3 × 36 + 3 = 111 s
    assert s3.call_bound(upload=True) == 111.0
    # a file's write (put_verified): that PUT, then one single-attempt HEAD (5 + 30) = 146 s
    assert s3.call_bound(upload=True) + s3.call_bound(1) == 146.0

    monkeypatch.setenv("REPORTS_S3_BUCKET", s3_bucket)
    monkeypatch.setenv("REPORTS_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("REPORTS_S3_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("REPORTS_S3_READ_TIMEOUT", "7.5")
    monkeypatch.setenv("REPORTS_S3_MAX_ATTEMPTS", "4")
    clients = [report_store_from_env().store().client, delivery_s3_from_env().get_client(),
               io_manager_from_env().s3_resource.get_client()]
    for client in clients:  # the report store, S3 delivery and the IO manager between steps
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (2.0, 7.5)
        assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert report_store_from_env().store().read_back_client().meta.config.retries["total_max_attempts"] == 1

    monkeypatch.setenv("REPORTS_S3_READ_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="REPORTS_S3_READ_TIMEOUT='soon' is not a number above 0"):
        report_store_from_env()
    monkeypatch.setenv("REPORTS_S3_READ_TIMEOUT", "30")
    monkeypatch.setenv("REPORTS_S3_MAX_ATTEMPTS", "0")
    with pytest.raises(ValueError, match="REPORTS_S3_MAX_ATTEMPTS"):
        report_store_from_env()


@pytest.mark.parametrize("direction", ["both", "down"])
def test_a_hung_s3_fails_the_put_within_the_bound_and_the_retry_lands_once(
        fault_proxy, s3_endpoint, s3_bucket, direction):  # noqa: F811
    """"both": the PUT never reaches S3. "down": it lands, and every answer is lost."""
    proxy = fault_proxy("127.0.0.1", _port(s3_endpoint))
    store = _store_through(proxy, s3_bucket, connect=1.0, read=1.0, attempts=2)
    s3 = AwsLimits(1.0, 1.0, 2)
    bound = s3.call_bound(upload=True) + s3.call_bound(1)  # put: 2 × 3 s + 1 s backoff; read-back: 2 s
    assert bound == 9.0
    proxy.hang(direction=direction)
    started = time.monotonic()
    with pytest.raises(StoreUnreachable) as failure:
        put_verified(store, KEY, DATA, "text/csv")
    elapsed = time.monotonic() - started
    print(f"hung S3 ({direction}): put_verified failed after {elapsed:.2f} s (bound {bound:g} s)")
    assert 3 * 1.0 <= elapsed <= bound, elapsed  # at least the three reads that timed out, at most the bound
    message = short_error(failure.value)
    assert message.startswith("StoreUnreachable: the report store did not answer (no answer within the read timeout)")
    assert f"writing {KEY} in s3://{s3_bucket} failed after up to 2 attempts of 1 s connect + 1 s read" in message
    assert message.endswith("then retry the run")

    proxy.pass_through()  # held bytes go on; the retry finds S3 answering again
    stored = put_verified(store, KEY, DATA, "text/csv")
    assert stored.size == len(DATA)
    assert _keys(s3_endpoint, s3_bucket) == [KEY]  # exactly one object
    assert store.get(KEY) == DATA


def test_botocore_retries_through_dropped_connections(fault_proxy, s3_endpoint, s3_bucket):  # noqa: F811
    proxy = fault_proxy("127.0.0.1", _port(s3_endpoint))
    store = _store_through(proxy, s3_bucket, attempts=3)
    proxy.fail_next(2)  # the next two connections are reset before a byte; the third passes
    store.put(KEY, DATA, "text/csv")
    assert proxy.accepted == 3
    assert _keys(s3_endpoint, s3_bucket) == [KEY]

    proxy.fail_next(3)  # more resets than attempts: a clear failure, nothing written
    with pytest.raises(StoreUnreachable, match=r"\(the connection was lost\): writing .* up to 3 attempts"):
        store.put("reports/1/2026/10/x-2-abcdef0123.csv", DATA)
    assert _keys(s3_endpoint, s3_bucket) == [KEY]


# --- SMTP ---

def test_smtp_timeout_from_the_url_or_the_environment(monkeypatch):
    monkeypatch.delenv("REPORTS_SMTP_TIMEOUT", raising=False)
    assert SmtpMailer("smtp://mail.example.com").timeout == 30.0
    monkeypatch.setenv("REPORTS_SMTP_TIMEOUT", "12")
    assert SmtpMailer("smtp://mail.example.com").timeout == 12.0
    assert SmtpMailer("smtp://mail.example.com:2525?starttls=true&timeout=7.5").timeout == 7.5  # the URL wins
    assert SmtpMailer("smtp://mail.example.com", timeout=3).timeout == 3
    with pytest.raises(ValueError, match="timeout='never' is not a number of seconds"):
        SmtpMailer("smtp://mail.example.com?timeout=never")
    monkeypatch.setenv("REPORTS_SMTP_TIMEOUT", "-1")
    with pytest.raises(ValueError, match="REPORTS_SMTP_TIMEOUT='-1'"):
        SmtpMailer("smtp://mail.example.com")


def test_a_silent_smtp_server_fails_the_send_within_the_timeout(fault_proxy, smtp_server):  # noqa: F811
    proxy = fault_proxy(smtp_server.host, smtp_server.port)
    proxy.hang(direction="down")  # connects, then not a word (not even the greeting)
    mailer = SmtpMailer(proxy.rewrite(smtp_server.url) + "?timeout=1")
    started = time.monotonic()
    with pytest.raises(Exception) as failure:
        mailer.send(_report_message())
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed <= 2 * 1.0 + 0.5, elapsed  # bound: connect + one answer, 2 × timeout
    assert "timed out" in str(failure.value)
    assert smtp_server.messages == []

    proxy.pass_through()
    SmtpMailer(proxy.rewrite(smtp_server.url) + "?timeout=1").send(_report_message())
    assert len(smtp_server.messages) == 1


# --- SES ---

def _ses_through(proxy, s3_endpoint, attempts=3):
    direct = boto3.client("ses", endpoint_url=s3_endpoint, region_name="us-east-1")
    direct.verify_email_identity(EmailAddress="reports@example.com")
    client = limits.ses_client("us-east-1", proxy.rewrite(s3_endpoint), AwsLimits(1.0, 1.0, attempts))
    return SesMailer(client), (lambda: direct.get_send_quota()["SentLast24Hours"])


def test_ses_is_not_retried_when_its_answer_is_lost(fault_proxy, s3_endpoint, s3_bucket):  # noqa: F811
    """The request reached SES (moto sent it), the answer never came: a retry would send a second
    copy, so there is none (botocore's own retries would have made 3 attempts, 3 copies)."""
    proxy = fault_proxy("127.0.0.1", _port(s3_endpoint))
    mailer, sent = _ses_through(proxy, s3_endpoint)
    before = sent()
    proxy.hang(direction="down")
    started = time.monotonic()
    with pytest.raises(Exception, match="Read timeout"):
        mailer.send(_report_message())
    assert time.monotonic() - started < 2 * 1.0  # one attempt of 1 s, no second
    assert proxy.accepted == 1
    assert sent() == before + 1


def test_ses_is_retried_when_the_connection_never_opened(fault_proxy, s3_endpoint, s3_bucket, monkeypatch):  # noqa: F811
    proxy = fault_proxy("127.0.0.1", _port(s3_endpoint))
    mailer, sent = _ses_through(proxy, s3_endpoint)
    before = sent()
    monkeypatch.setattr(limits, "_jitter", lambda: 1.0)  # backoff exactly 1 s, then 2 s
    proxy.refuse()  # SES is down: connection refused, so nothing can have been sent
    threading.Timer(0.5, proxy.pass_through).start()  # back within the first backoff
    message_id = mailer.send(_report_message())
    assert message_id and proxy.accepted == 1
    assert sent() == before + 1

    proxy.refuse()
    started = time.monotonic()
    with pytest.raises(Exception, match="Could not connect"):
        mailer.send(_report_message())
    assert 1.0 + 2.0 <= time.monotonic() - started < 3.0 + 1.0  # 3 attempts, backoffs 1 s and 2 s
    assert sent() == before + 1


# --- PostgreSQL ---

def test_every_connection_gets_the_statement_and_idle_timeouts(fresh_url, monkeypatch):
    for name in ("REPORTS_DB_STATEMENT_TIMEOUT_SECONDS", "REPORTS_DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS",
                 "REPORTS_DB_CONNECT_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    engine = db.create_engine(fresh_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "10min"
        assert conn.exec_driver_sql("SHOW idle_in_transaction_session_timeout").scalar() == "5min"
        assert "connect_timeout=10" in conn.connection.dbapi_connection.info.dsn
    engine.dispose()
    monkeypatch.setenv("REPORTS_DB_STATEMENT_TIMEOUT_SECONDS", "90")
    engine = db.create_engine(fresh_url.update_query_dict({"options": "-c idle_in_transaction_session_timeout=7s"}))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "90s"
        assert conn.exec_driver_sql("SHOW idle_in_transaction_session_timeout").scalar() == "7s"  # the URL's wins
    engine.dispose()


def test_a_statement_timeout_is_recorded_as_its_cause(fresh_url):
    engine = db.create_engine(fresh_url, DatabaseLimits(statement_timeout=0.3))
    with pytest.raises(Exception) as failure:  # pandas' DatabaseError, raised from SQLAlchemy's
        db.read_frame(engine, "-- the slow extract\nSELECT pg_sleep(2) AS slept, :secret AS s FROM generate_series(1, 1)",
                      {"secret": "hunter2-parameter"})
    engine.dispose()
    assert "pg_sleep" in str(failure.value)[:120]  # what used to be recorded, cut at 500 characters
    message = short_error(failure.value)
    assert message == (
        "database statement timeout: canceling statement due to statement timeout (SELECT … FROM generate_series); "
        "the query ran longer than REPORTS_DB_STATEMENT_TIMEOUT_SECONDS allows: retry when the database is less "
        "busy, or raise it")
    # the same from the failure's text (the run-failure sensor only has that)
    assert short_error(f"run failed: pandas.errors.DatabaseError: {failure.value}") == f"run failed: {message}"
    assert short_error(f"OperationalError: {failure.value.__cause__}") == message


def _big_query() -> str:
    return "SELECT g AS n, repeat('x', 200) AS filler FROM generate_series(1, 200000) AS g"


def _proxied(fresh_url, fault_proxy):
    """A proxy in front of the test database, over TCP, or over its Unix socket when it has no TCP
    port (the embedded server `make test` starts without REPORTING_TEST_DATABASE_URL); and the URL
    that goes through it."""
    if fresh_url.host:
        proxy = fault_proxy(fresh_url.host, fresh_url.port or 5432)
    else:
        [socket_path] = [path for path in glob.glob(os.path.join(fresh_url.query["host"], ".s.PGSQL.*"))
                         if not path.endswith(".lock")]
        proxy = fault_proxy(socket_path, None)
    query = {k: v for k, v in fresh_url.query.items() if k != "host"}
    return proxy, fresh_url.set(host=proxy.host, port=proxy.port, query=query)


def test_a_connection_dropped_mid_extract_is_recorded_as_lost(fresh_url, fault_proxy):  # noqa: F811
    proxy, url = _proxied(fresh_url, fault_proxy)
    engine = db.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1  # the path works
    proxy.drop(after_bytes=300_000, direction="down")  # ~40 MB to come: reset about 1 % into it
    with pytest.raises(sa.exc.OperationalError) as failure:
        db.read_frame(engine, _big_query(), chunk_rows=5000)
    engine.dispose()
    message = short_error(failure.value)
    # SQLAlchemy names no statement for an error while fetching rows
    assert message == ("database connection lost: consuming input failed: server closed the connection "
                       "unexpectedly; the run can be retried"), message
    assert len(message) <= MAX_ERROR_CHARS


def test_a_backend_terminated_mid_extract_is_recorded_as_lost(fresh_url, server_url):
    engine = db.create_engine(fresh_url)
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with pytest.raises(sa.exc.OperationalError) as failure:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            stream = conn.execution_options(stream_results=True, max_row_buffer=1000).execute(sa.text(_big_query()))
            assert len(stream.fetchmany(1000)) == 1000  # the extract is under way
            with admin.connect() as other:
                assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            while stream.fetchmany(1000):
                pass
    engine.dispose()
    admin.dispose()
    message = short_error(failure.value)
    assert message.startswith("database connection lost: "), message
    assert "the run can be retried" in message and "repeat(" not in message


def test_a_silent_database_fails_the_connect_within_its_timeout(fresh_url, fault_proxy):  # noqa: F811
    proxy, url = _proxied(fresh_url, fault_proxy)
    proxy.hang()  # accepts the connection, never answers the startup
    engine = db.create_engine(url, DatabaseLimits(connect_timeout=2))
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError) as failure:
        with engine.connect():
            pass
    elapsed = time.monotonic() - started
    engine.dispose()
    assert 2.0 <= elapsed <= 2.0 + 1.0, elapsed
    message = short_error(failure.value)
    assert message.startswith("database connect timeout: "), message
    assert "REPORTS_DB_CONNECT_TIMEOUT_SECONDS" in message


def test_migrations_have_their_own_statement_timeout(empty_database_url, tmp_path, monkeypatch):
    from reporting_dagster.lib.infra import migrate

    monkeypatch.setenv("REPORTS_DB_STATEMENT_TIMEOUT_SECONDS", "0.5")  # every other statement: 0.5 s
    monkeypatch.delenv("REPORTS_DB_MIGRATION_STATEMENT_TIMEOUT_SECONDS", raising=False)
    engine = db.create_engine(empty_database_url)
    (tmp_path / "0001_long_index_build.sql").write_text("SELECT pg_sleep(1.5);")
    assert [m.version for m in migrate.upgrade(engine, tmp_path)] == [1]  # not killed at 0.5 s

    monkeypatch.setenv("REPORTS_DB_MIGRATION_STATEMENT_TIMEOUT_SECONDS", "0.5")
    (tmp_path / "0002_longer.sql").write_text("CREATE TABLE made_by_two (id int); SELECT pg_sleep(1.5);")
    with pytest.raises(migrate.MigrationError, match="0002_longer.sql: a statement ran longer than the migrations' "
                                                     "statement timeout .REPORTS_DB_MIGRATION_STATEMENT_TIMEOUT_SECONDS"):
        migrate.upgrade(engine, tmp_path)
    with engine.connect() as conn:  # nothing of 0002 was left behind
        assert conn.execute(sa.text("SELECT to_regclass('made_by_two')")).scalar() is None
    engine.dispose()


def test_database_timeouts_must_be_numbers(monkeypatch):
    monkeypatch.setenv("REPORTS_DB_STATEMENT_TIMEOUT_SECONDS", "ten minutes")
    with pytest.raises(ValueError, match="REPORTS_DB_STATEMENT_TIMEOUT_SECONDS='ten minutes' is not a number"):
        DatabaseLimits.from_env()
    monkeypatch.setenv("REPORTS_DB_STATEMENT_TIMEOUT_SECONDS", "0")  # 0: no limit, PostgreSQL's meaning
    assert DatabaseLimits.from_env().statement_timeout == 0


def test_database_error_text_keeps_the_cause_and_drops_sql_and_parameters():
    text = ("(psycopg.OperationalError) consuming input failed: server closed the connection unexpectedly\n"
            "\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\n"
            "[SQL: " + "SELECT h.id, h.total FROM expected_invoice_header h WHERE h.x = %(p)s " * 20 + "]\n"
            "[parameters: {'p': 'password=hunter2'}]\n(Background on this error at: https://sqlalche.me/e/20/e3q8)")
    assert short_error(text) == (
        "database connection lost: consuming input failed: server closed the connection unexpectedly "
        "(SELECT … FROM expected_invoice_header); the run can be retried")
    assert short_error("ValueError: nothing to do with a database") == "ValueError: nothing to do with a database"


def test_a_bad_limit_stops_the_code_location_from_loading(monkeypatch):
    from reporting_dagster.defs.resources import resources_from_env

    monkeypatch.setenv("REPORTS_SES_MAX_ATTEMPTS", "three")
    with pytest.raises(ValueError, match="REPORTS_SES_MAX_ATTEMPTS='three' is not a whole number above 0"):
        resources_from_env()
