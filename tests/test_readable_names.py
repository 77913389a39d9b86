"""Readable names: every download and attachment says organization, report and period, while
store keys stay id-based. Real servers: moto (S3), aiosmtpd (SMTP), PostgreSQL."""

import json
import urllib.parse
import urllib.request

import boto3
import pytest
import sqlalchemy as sa

from reporting_dagster.lib.delivery.deliver import deliver_report
from reporting_dagster.lib.delivery.filenames import (
    content_disposition,
    download_name,
    period_text,
    safe_filename,
)
from reporting_dagster.lib.delivery.local_buckets import LocalBuckets
from reporting_dagster.lib.delivery.mail import SmtpMailer
from reporting_dagster.lib.infra.store import LocalStore, S3Store
from tests.smtp_server import smtp_server  # noqa: F401
from tests.test_delivery import CSV, SENDER, _seed

KAROO = "Karoo Solar – Invoice Aging – 2026-11.pdf"
TOKYO = "Sakura Wind 東京 K.K."


# --- the name itself ----------------------------------------------------------------------------

def test_the_readable_name_says_organization_report_and_period():
    assert download_name("Karoo Solar", "invoice_aging", "2026-11", "pdf") == KAROO
    assert download_name(TOKYO, "timesheet", "2026-Q3", "xlsx") == f"{TOKYO} – Timesheet – 2026-Q3.xlsx"


@pytest.mark.parametrize(("stem", "expected"), [
    ("../../etc/passwd", "-..-etc-passwd.pdf"),           # separators become hyphens, leading dots go
    ('Karoo (Pty) Ltd, t/a "Karoo Sun"', "Karoo (Pty) Ltd, t-a 'Karoo Sun'.pdf"),
    ("a\r\nBcc: x\x00y\u202e", "a Bcc- x y.pdf"),          # controls and the RTL override: spaces
    ("C:\\Windows\\evil", "C--Windows-evil.pdf"),
    ("CON", "CON file.pdf"), ("lpt1", "lpt1 file.pdf"),   # Windows device names
    ("Report. . .", "Report.pdf"),                         # no trailing dots or spaces
    ("   ", "report.pdf"), ("...", "report.pdf"),         # never empty
])
def test_names_are_safe_on_every_os(stem, expected):
    assert safe_filename(stem, "pdf") == expected


def test_names_are_bounded_and_keep_their_extension():
    long = safe_filename("x" * 500, "xlsx")
    assert len(long) == 120 and long.endswith("x.xlsx")  # 120 characters, ".xlsx" kept
    cjk = safe_filename("東" * 200, "pdf")
    assert len(cjk.encode("utf-8")) <= 240 and cjk.endswith(".pdf")
    # 3 bytes per 東 and 4 for ".pdf": 78 × 3 + 4 = 238 ≤ 240, one more would be 241
    assert cjk == "東" * 78 + ".pdf"
    assert safe_filename("x", "../pdf") == "x.bin"  # an extension is never a path either


def test_periods_read_as_they_sort():
    assert period_text("2026-11-01", "2026-11-30") == "2026-11"
    assert period_text("2026-07-01", "2026-09-30") == "2026-Q3"
    assert period_text("2026-01-01", "2026-12-31") == "2026"
    assert period_text("2026-02-01", "2026-05-31") == "2026-02 to 2026-05"
    assert period_text("2026-11-03", "2026-11-17") == "2026-11-03 to 2026-11-17"


def test_content_disposition_is_ascii_with_the_utf8_name_percent_encoded():
    header = content_disposition(f"{TOKYO} – Timesheet – 2026-11.pdf")
    header.encode("ascii")  # HTTP header values are ASCII
    # 東 is E6 9D B1, 京 is E4 BA AC, the en dash E2 80 93, a space %20
    assert header == ("attachment; filename=\"Sakura Wind K.K. - Timesheet - 2026-11.pdf\"; "
                      "filename*=UTF-8''Sakura%20Wind%20%E6%9D%B1%E4%BA%AC%20K.K.%20%E2%80%93%20Timesheet"
                      "%20%E2%80%93%202026-11.pdf")


# --- stores -------------------------------------------------------------------------------------

def test_s3_objects_and_presigned_links_carry_the_readable_name(s3_endpoint, s3_bucket):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    store = S3Store(client, s3_bucket, prefix="tenant")
    key = "reports/3/2026/11/invoice_aging-146-0123456789.pdf"
    store.put(key, b"%PDF-1.7 x", "application/pdf", download_name=KAROO)
    head = client.head_object(Bucket=s3_bucket, Key=f"tenant/{key}")
    assert head["ContentDisposition"] == ("attachment; filename=\"Karoo Solar - Invoice Aging - 2026-11.pdf\"; "
                                          "filename*=UTF-8''Karoo%20Solar%20%E2%80%93%20Invoice%20Aging%20%E2%80%93%202026-11.pdf")
    with urllib.request.urlopen(store.url(key, 60, download_name=KAROO)) as response:
        assert response.read() == b"%PDF-1.7 x"
        header = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''Karoo%20Solar%20%E2%80%93%20Invoice%20Aging%20%E2%80%93%202026-11.pdf" in header

    # an object written before it had a name: the link gives it one (response-content-disposition)
    old = "reports/3/2026/10/invoice_aging-99.pdf"
    store.put(old, b"%PDF-1.7 old", "application/pdf")
    assert "ContentDisposition" not in client.head_object(Bucket=s3_bucket, Key=f"tenant/{old}")
    october = "Karoo Solar – Invoice Aging – 2026-10.pdf"
    with urllib.request.urlopen(store.url(old, 60, download_name=october)) as response:
        assert response.headers["Content-Disposition"] == (
            "attachment; filename=\"Karoo Solar - Invoice Aging - 2026-10.pdf\"; "
            "filename*=UTF-8''Karoo%20Solar%20%E2%80%93%20Invoice%20Aging%20%E2%80%93%202026-10.pdf")


def test_the_local_store_lists_readable_names_in_its_manifest(tmp_path):
    store = LocalStore(tmp_path / "reports", manifest=tmp_path / "reports" / "manifest.jsonl")
    key = "reports/3/2026/11/invoice_aging-146-0123456789.pdf"
    stored = store.put(key, b"%PDF-1.7 x", "application/pdf", download_name=KAROO)
    [line] = (tmp_path / "reports" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert (entry["key"], entry["download_name"], entry["size"], entry["sha256"]) == (key, KAROO, 10, stored.sha256)
    assert store.download_name(key) == KAROO and store.download_name("reports/none.pdf") is None
    assert [k for k, _ in store.list_keys("")] == [key]  # the manifest is no report file
    assert LocalStore(tmp_path / "bare").put(key, b"x").key == key
    assert not (tmp_path / "bare" / "manifest.jsonl").exists()  # no manifest asked, none written


# --- delivery -----------------------------------------------------------------------------------

SUMMARY = {
    "currencies": {"ZAR": {"expected": "1234.5", "received": "1000.005", "variance": "-234.495",
                           "variance_percent": "-18.99", "pairs": 3}},
    "pairs": 3,
    "status_counts": {"matched": 1, "underbilled": 2, "overbilled": 0},
}


def _with_summary(engine, report_id, summary):
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET summary_data = CAST(:s AS jsonb) WHERE id = :id"),
                     {"s": json.dumps(summary), "id": report_id})


def test_a_delivered_email_has_a_readable_attachment_one_period_and_key_figures(
        fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path / "reports")
    ids = _seed(fresh_engine, store, recipients=[{"email": "alice@example.com"}], org_name=TOKYO)
    _with_summary(fresh_engine, ids["report"], SUMMARY)
    deliver_report(fresh_engine, store, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                   sender=SENDER, reply_to=None)
    [received] = smtp_server.received
    message = received.message
    # the row's name already holds the period: it is not said twice
    assert message["Subject"] == f"Invoice comparison January 2026 — {TOKYO}"
    assert message["Subject"].count("January 2026") == 1
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{TOKYO} – Invoice Comparison – 2026-01.csv"
    assert attachment.get_payload(decode=True) == CSV
    # RFC 2231: percent-encoded UTF-8, in numbered continuations since the name is long
    assert b"filename*0*=utf-8''Sakura%20Wind%20%E6%9D%B1%E4%BA%AC%20K.K.%20%E2%80%93%20" in received.raw
    text = message.get_body(("plain",)).get_content()
    # by hand: 1234.5 → 1,234.50; 1000.005 half-up → 1,000.01; -234.495 half-up (away from 0) → -234.50
    assert ("ZAR: Expected 1,234.50 · Received 1,000.01 · Variance -234.50 · Variance percent -18.99 % · "
            "Pairs 3") in text
    assert "Pairs: 3" in text and "By status: 1 matched · 2 underbilled" in text
    assert "overbilled" not in text  # zero counts are left out
    html = message.get_body(("html",)).get_content()
    assert "<li>ZAR: Expected 1,234.50" in html and "By status: 1 matched" in html


def test_hostile_summary_text_is_escaped_in_the_html_part(fresh_engine, tmp_path, smtp_server):  # noqa: F811
    store = LocalStore(tmp_path / "reports")
    ids = _seed(fresh_engine, store, recipients=[{"email": "alice@example.com"}],
                org_name='<img src=x onerror="alert(1)"> & Co')
    _with_summary(fresh_engine, ids["report"], {"currencies": {"<b>ZAR</b>": {"open_amount": "5"}}})
    deliver_report(fresh_engine, store, SmtpMailer(smtp_server.url), generated_report_id=ids["report"],
                   sender=SENDER, reply_to=None)
    [message] = smtp_server.messages
    html = message.get_body(("html",)).get_content()
    assert "<img" not in html and "<b>ZAR" not in html
    assert "&lt;b&gt;ZAR&lt;/b&gt;: Open amount 5.00" in html and "&lt;img src=x" in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "-img src=x onerror='alert(1)'- & Co – Invoice Comparison – 2026-01.csv"


def test_s3_delivery_copies_carry_the_readable_name(fresh_engine, tmp_path, s3_endpoint, s3_bucket):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    store = LocalStore(tmp_path)
    ids = _seed(fresh_engine, store, recipients=[], delivery_method="s3", s3_destination=f"s3://{s3_bucket}/finance")
    deliver_report(fresh_engine, store, None, generated_report_id=ids["report"], s3_client=client,
                   sender=SENDER, reply_to=None, allowed_buckets=[s3_bucket])
    key = f"finance/{ids['org']}/2026/01/invoice_comparison-{ids['report']}.csv"  # the key stays id-based
    name = "Sunfield Energy – Invoice Comparison – 2026-01.csv"
    assert client.head_object(Bucket=s3_bucket, Key=key)["ContentDisposition"] == (
        "attachment; filename=\"Sunfield Energy - Invoice Comparison - 2026-01.csv\"; "
        "filename*=UTF-8''Sunfield%20Energy%20%E2%80%93%20Invoice%20Comparison%20%E2%80%93%202026-01.csv")
    link = client.generate_presigned_url("get_object", Params={"Bucket": s3_bucket, "Key": key}, ExpiresIn=60)
    with urllib.request.urlopen(link) as response:
        assert response.read() == CSV
        assert urllib.parse.quote(name) in response.headers["Content-Disposition"]


def test_local_buckets_stand_in_for_s3_delivery(fresh_engine, tmp_path):
    store = LocalStore(tmp_path / "reports")
    ids = _seed(fresh_engine, store, recipients=[], delivery_method="s3",
                s3_destination="s3://demo-deliveries/karoo-solar")
    buckets = LocalBuckets(tmp_path / "deliveries")
    for _ in range(2):  # the second round finds its copy: delivered once
        deliver_report(fresh_engine, store, None, generated_report_id=ids["report"], s3_client=buckets,
                       sender=SENDER, reply_to=None, allowed_buckets=["demo-deliveries"])
    copy = tmp_path / "deliveries" / "demo-deliveries" / "karoo-solar" / str(ids["org"]) / "2026" / "01" / (
        f"invoice_comparison-{ids['report']}.csv")
    assert copy.read_bytes() == CSV
    [line] = (tmp_path / "deliveries" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["download_name"] == "Sunfield Energy – Invoice Comparison – 2026-01.csv"
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM report_delivery WHERE generated_report_id = :id"),
                            {"id": ids["report"]}).scalars().all() == ["sent"]


def test_key_figures_put_amounts_before_counts_and_leave_zero_counts_out():
    from reporting_dagster.lib.delivery.key_figures import key_figures

    # the order jsonb gives back (shorter keys first), as the timesheet's summary_data reads
    summary = {"days": 21, "members": 5, "no_due_date": 0, "total_hours": "337.5", "billable_percent": "82.888"}
    assert key_figures(summary) == ["Total hours: 337.50", "Billable percent: 82.89 %", "Days: 21", "Members: 5"]
    assert key_figures({"no_data": True, "currencies": {}}) == ["No data for this period."]
    assert key_figures({}) == []


def test_the_environment_gives_the_local_store_a_manifest_and_s3_delivery_a_folder(monkeypatch, tmp_path):
    from reporting_dagster.defs.resources import delivery_s3_from_env, report_store_from_env

    monkeypatch.delenv("REPORTS_S3_BUCKET", raising=False)
    monkeypatch.setenv("REPORTS_LOCAL_DIR", str(tmp_path / "reports"))
    store = report_store_from_env().store()
    assert store.manifest == tmp_path / "reports" / "manifest.jsonl"
    monkeypatch.setenv("REPORTS_S3_DELIVERY_LOCAL_DIR", str(tmp_path / "deliveries"))
    client = delivery_s3_from_env().get_client()
    assert isinstance(client, LocalBuckets) and client.root == tmp_path / "deliveries"
    monkeypatch.delenv("REPORTS_S3_DELIVERY_LOCAL_DIR")
    assert not isinstance(delivery_s3_from_env().get_client(), LocalBuckets)  # real S3 otherwise


def test_comparison_key_figures_keep_the_paired_variance_apart_from_what_was_not_received():
    """A comparison summary per currency (rules/comparison.totals_by_currency): the mail shows the
    paired variance and, apart, what was not received / not expected; never expected − received
    over all pairs. ZAR: 2 paired (3,000.00 expected, 3,050.00 received: +50.00, 50 / 3,000 =
    1.666…% → 1.67 %), 1 not received (370,026.24 expected), nothing unexpected."""
    from reporting_dagster.lib.delivery.key_figures import key_figures

    zar = {"expected": "373026.24", "received": "3050.00", "variance": "50.00", "variance_percent": "1.6666667",
           "pairs": 3, "paired": {"pairs": 2, "expected": "3000.00", "received": "3050.00", "variance": "50.00",
                                  "variance_percent": "1.6666667"},
           "not_received": {"pairs": 1, "expected": "370026.24"}, "not_expected": {"pairs": 0, "received": "0"},
           "status_counts": {"matched": 1, "overbilled": 1, "missing_received": 1}}
    lines = key_figures({"currencies": {"ZAR": zar}, "infinite": float("inf"), "huge": "1e40"})
    assert lines[0] == "ZAR: Paired (2): variance 50.00 (1.67 %) · Not received (1): expected 370,026.24"
    assert not any("373,026.24" in line for line in lines)  # expected over every pair is not shown
    # 1e40 to 2 decimals needs 43 digits, past Decimal's 28: left out, as is an infinite float
    assert not any(line.startswith(("Huge", "Infinite")) for line in lines)
