"""Recipients, message building and the three mailers (SMTP via aiosmtpd, SES via moto, outbox)."""

import email
from email import policy

import boto3
import pytest

from reporting_dagster.lib.delivery.mail import (
    OutboxMailer,
    Recipient,
    SesMailer,
    SmtpMailer,
    build_failure_notice,
    build_report_message,
    parse_recipients,
)
from tests.smtp_server import PASSWORD, USER, smtp_server  # noqa: F401

SENDER = "Reports <reports@example.com>"


def test_parse_recipients_validates_tolerates_strings_and_deduplicates():
    valid, invalid = parse_recipients([
        {"email": "alice@example.com", "name": "Alice Moyo"},
        "bob@example.org",
        {"email": "ALICE@Example.com", "name": "Alice again"},
        {"email": "no-at-sign.example.com"},
        {"email": "two@@example.com"},
        {"email": "bob smith@example.com"},
        {"email": "x@example.com\r\nBcc: evil@example.net"},
        {"email": "a@b.com,c@d.com"},
        {"email": "carol@localhost"},
        {"name": "no address"},
        42,
        {"email": "dave@example.co.za", "name": "Dave\r\nBcc: evil@example.net"},
    ])
    assert valid == [
        Recipient("alice@example.com", "Alice Moyo"),
        Recipient("bob@example.org", None),
        Recipient("dave@example.co.za", "Dave Bcc: evil@example.net"),
    ]
    assert [raw for raw, _ in invalid] == [
        "no-at-sign.example.com", "two@@example.com", "bob smith@example.com",
        "x@example.com\r\nBcc: evil@example.net", "a@b.com,c@d.com", "carol@localhost",
        "{'name': 'no address'}", "42",
    ]
    assert all(reason for _, reason in invalid)


def test_parse_recipients_accepts_the_jsonb_text_and_empty_values():
    assert parse_recipients('[{"email": "a@example.com"}]') == ([Recipient("a@example.com")], [])
    assert parse_recipients(None) == ([], [])
    assert parse_recipients([]) == ([], [])


def _report_message(**overrides):
    values = dict(
        sender=SENDER, reply_to="finance@example.com", recipient=Recipient("alice@example.com", "Alice"),
        report_name="Invoice comparison", organization_name="Sunfield Energy", period_label="January 2026",
        file_format="pdf", download_url="https://bucket.example/r.pdf?X-Amz-Expires=86400&a=1",
        link_expires_hours=24, attachment=("invoice_comparison-7.pdf", b"%PDF-1.7 test", "application/pdf"),
    )
    values.update(overrides)
    return build_report_message(**values)


def _reparse(message):
    return email.message_from_bytes(message.as_bytes(), policy=policy.default)


def test_report_message_headers_text_html_and_attachment():
    parsed = _reparse(_report_message())
    assert parsed["Subject"] == "Invoice comparison — Sunfield Energy — January 2026"
    assert parsed["To"] == "Alice <alice@example.com>"
    assert parsed["Reply-To"] == "finance@example.com"
    assert parsed["Message-ID"].endswith("@example.com>")
    text = parsed.get_body(("plain",)).get_content()
    assert "https://bucket.example/r.pdf?X-Amz-Expires=86400&a=1" in text
    assert "expires in 24 hours" in text and "January 2026" in text and "PDF" in text
    html_part = parsed.get_body(("html",)).get_content()
    assert 'href="https://bucket.example/r.pdf?X-Amz-Expires=86400&amp;a=1"' in html_part
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "invoice_comparison-7.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == b"%PDF-1.7 test"


def test_the_subject_says_organization_and_period_once():
    """The monthly pack's row name holds both already; a schedule's name may hold the period."""
    subject = lambda name: _reparse(_report_message(report_name=name))["Subject"]  # noqa: E731
    assert subject("Invoice Aging Report — Sunfield Energy — January 2026") == (
        "Invoice Aging Report — Sunfield Energy — January 2026")
    assert subject("Monthly check — January 2026") == "Monthly check — January 2026 — Sunfield Energy"
    assert subject("Monthly check") == "Monthly check — Sunfield Energy — January 2026"
    # a scheduled quarter names its period already: the month of its last billing period is not added
    assert subject("Quarterly aging — Q3 2026") == "Quarterly aging — Q3 2026 — Sunfield Energy"
    # another year in the name is not the period's: "since 2024" still gets January 2026
    assert subject("Group pack (since 2024)") == "Group pack (since 2024) — Sunfield Energy — January 2026"


def test_a_text_attachment_says_it_is_utf8():
    """A CSV of non-ASCII names: the attachment's Content-Type carries charset=utf-8 (the bytes, BOM
    first, are the file's own), a PDF none."""
    data = "\ufeff# Invoice Aging Report\r\nKunde,Betrag\r\nMüller 東京,1.00\r\n".encode("utf-8")
    parsed = _reparse(_report_message(attachment=("a.csv", data, "text/csv")))
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_content_type() == "text/csv" and attachment.get_param("charset") == "utf-8"
    assert attachment.get_payload(decode=True) == data
    [pdf] = list(_reparse(_report_message()).iter_attachments())
    assert pdf.get_param("charset") is None


def test_key_figures_are_in_both_parts_and_escaped_in_html():
    parsed = _reparse(_report_message(key_figures=["ZAR: Open amount 1,234.50", "<b>Invoices</b>: 3"]))
    text = parsed.get_body(("plain",)).get_content()
    assert "Key figures:\n  - ZAR: Open amount 1,234.50\n  - <b>Invoices</b>: 3\n" in text
    html_part = parsed.get_body(("html",)).get_content()
    assert "<li>ZAR: Open amount 1,234.50</li><li>&lt;b&gt;Invoices&lt;/b&gt;: 3</li>" in html_part
    assert "Key figures" not in _reparse(_report_message()).get_body(("plain",)).get_content()


def test_hostile_names_cannot_inject_headers_or_html():
    parsed = _reparse(_report_message(
        organization_name='<script>alert("x")</script> & Co\r\nBcc: evil@example.net',
        report_name="Report\nX-Injected: yes",
        recipient=Recipient("alice@example.com", "Alice\r\nCc: evil@example.net"),
        attachment=None,
    ))
    assert parsed["Bcc"] is None and parsed["Cc"] is None and parsed["X-Injected"] is None
    assert parsed["Subject"] == ('Report X-Injected: yes — <script>alert("x")</script> & Co '
                                 'Bcc: evil@example.net — January 2026')
    assert [a.addr_spec for a in parsed["To"].addresses] == ["alice@example.com"]
    html_part = parsed.get_body(("html",)).get_content()
    assert "<script>" not in html_part
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co Bcc: evil@example.net" in html_part
    assert list(parsed.iter_attachments()) == []
    assert "too large to attach" in parsed.get_body(("plain",)).get_content()


def test_local_link_has_no_expiry():
    text = _reparse(_report_message(download_url="file:///srv/reports/r.pdf", link_expires_hours=None)) \
        .get_body(("plain",)).get_content()
    assert "file:///srv/reports/r.pdf" in text and "expires" not in text


def test_failure_notice():
    parsed = _reparse(build_failure_notice(
        sender=SENDER, reply_to=None, recipient=Recipient("alice@example.com"),
        schedule_name="Monthly comparison", organization_name="Sunfield Energy",
        period_label="January 2026", error="BillingPeriodNotFound: no billing_period for 2026-01",
    ))
    assert parsed["Subject"] == "Scheduled report Monthly comparison failed"
    text = parsed.get_content()
    assert "BillingPeriodNotFound: no billing_period for 2026-01" in text and "January 2026" in text


def test_smtp_mailer_logs_in_and_delivers(smtp_server):  # noqa: F811
    mailer = SmtpMailer(f"smtp://{USER}:{PASSWORD}@{smtp_server.host}:{smtp_server.port}")
    assert PASSWORD not in repr(mailer)
    message = _report_message()
    message_id = mailer.send(message)
    assert message_id == message["Message-ID"]
    [received] = smtp_server.received
    assert smtp_server.logins == [USER]
    assert received.rcpt_tos == ["alice@example.com"] and received.mail_from == "reports@example.com"
    assert received.message["Message-ID"] == message_id
    [attachment] = list(received.message.iter_attachments())
    assert attachment.get_content() == b"%PDF-1.7 test"


def test_smtp_mailer_url_forms():
    plain = SmtpMailer("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.starttls, plain.implicit_tls, plain.username) == \
        ("mail.example.com", 25, False, False, None)
    tls = SmtpMailer("smtps://u%40x:p%2Fw@mail.example.com")
    assert (tls.port, tls.implicit_tls, tls.username, tls.password) == (465, True, "u@x", "p/w")
    starttls = SmtpMailer("smtp://mail.example.com:2525?starttls=true")
    assert (starttls.port, starttls.starttls) == (2525, True)
    with pytest.raises(ValueError):
        SmtpMailer("http://mail.example.com")


def test_smtp_refusal_raises(smtp_server):  # noqa: F811
    smtp_server.reject_once("alice@example.com")
    with pytest.raises(Exception, match="550"):
        SmtpMailer(smtp_server.url).send(_report_message())
    assert smtp_server.messages == []


def test_outbox_writes_parseable_eml_atomically(tmp_path):
    mailer = OutboxMailer(tmp_path / "outbox")
    message_id = mailer.send(_report_message())
    [path] = list((tmp_path / "outbox").iterdir())
    assert path.suffix == ".eml" and path.name == message_id.strip("<>") + ".eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Invoice comparison — Sunfield Energy — January 2026"
    assert next(parsed.iter_attachments()).get_content() == b"%PDF-1.7 test"


def test_outbox_defaults_to_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTING_STATE_DIR", str(tmp_path))
    OutboxMailer().send(_report_message())
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_ses_mailer_against_moto_server(s3_endpoint):
    client = boto3.client("ses", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    mailer = SesMailer(client)
    with pytest.raises(Exception, match="MessageRejected"):
        mailer.send(_report_message(sender="Reports <unverified@example.com>"))
    client.verify_email_identity(EmailAddress="reports@example.com")
    before = client.get_send_quota()["SentLast24Hours"]
    message_id = mailer.send(_report_message())
    assert message_id and "@" not in message_id  # SES's own id, not our Message-ID header
    assert client.get_send_quota()["SentLast24Hours"] == before + 1


def test_mailer_resource_follows_the_environment(monkeypatch, tmp_path, smtp_server):  # noqa: F811
    from reporting_dagster.defs.resources import (
        OutboxReportMailer,
        SesReportMailer,
        SmtpReportMailer,
        delivery_s3_from_env,
        report_mailer_from_env,
    )

    for name in ("SES_FROM_EMAIL", "SES_REPLY_TO_EMAIL", "AWS_SES_REGION", "REPORTS_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPORTING_STATE_DIR", str(tmp_path))
    outbox = report_mailer_from_env()
    assert isinstance(outbox, OutboxReportMailer) and outbox.directory == str(tmp_path / "outbox")
    assert isinstance(outbox.mailer(), OutboxMailer)

    monkeypatch.setenv("REPORTS_SMTP_URL", smtp_server.url)
    monkeypatch.setenv("SES_FROM_EMAIL", "reports@example.com")
    monkeypatch.setenv("SES_REPLY_TO_EMAIL", "finance@example.com")
    smtp = report_mailer_from_env()
    assert isinstance(smtp, SmtpReportMailer)
    initialized = smtp.process_config_and_initialize()  # resolves the EnvVar as Dagster does
    assert (initialized.sender, initialized.reply_to) == ("reports@example.com", "finance@example.com")
    initialized.mailer().send(_report_message(sender=initialized.sender))
    assert [r.mail_from for r in smtp_server.received] == ["reports@example.com"]

    monkeypatch.setenv("AWS_SES_REGION", "eu-west-1")
    ses = report_mailer_from_env()
    assert isinstance(ses, SesReportMailer) and ses.region == "eu-west-1"

    monkeypatch.setenv("REPORTS_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    assert delivery_s3_from_env().endpoint_url == "http://127.0.0.1:9000"


def test_ses_resource_sends_through_moto(s3_endpoint, monkeypatch):
    from reporting_dagster.defs.resources import SesReportMailer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    resource = SesReportMailer(sender="reports@example.com", region="us-east-1", endpoint_url=s3_endpoint)
    client = boto3.client("ses", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.verify_email_identity(EmailAddress="reports@example.com")
    assert resource.mailer().send(_report_message(sender=resource.sender))
