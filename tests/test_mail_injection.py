"""E-mail header injection through RFC 2047 encoded words (gh-121650), on this interpreter.

CPython's email package before 3.11.10 decodes `=?utf-8?q?x=0D=0ABcc:_evil@…?=` when a header is
set and writes the decoded CR/LF raw: a real Bcc header. Every header-bearing field gets the
payload and its variants; the message goes through the real aiosmtpd server (envelope and parsed
message checked) and through SES's raw path on moto (which, like SES, takes the recipients from
the headers: its recipients and the raw bytes checked)."""

import base64
import email
import email.utils
import sys
from email import policy

import boto3
import pytest

from reporting_dagster.lib.delivery.mail import (
    Recipient,
    SesMailer,
    SmtpMailer,
    UnsafeMessage,
    build_delivery_notice,
    build_failure_notice,
    build_report_message,
    clean_header,
    parse_recipients,
    wire_bytes,
)
from tests.smtp_server import smtp_server  # noqa: F401

EVIL = "evil@attacker.example"
PAYLOADS = {
    "q-encoded CRLF": "=?utf-8?q?x=0D=0ABcc:_evil@attacker.example?=",
    "b-encoded CRLF": "=?utf-8?b?" + base64.b64encode(b"x\r\nBcc: evil@attacker.example").decode() + "?=",
    "upper/lower case": "=?UTF-8?Q?x=0d=0aBcc:_evil@attacker.example?=",
    "folded words": "=?utf-8?q?x?=\r\n =?utf-8?q?=0D=0ABcc:_evil@attacker.example?=",
    "LF only": "=?utf-8?q?x=0ABcc:_evil@attacker.example?=",
    "CR only": "=?utf-8?q?x=0DBcc:_evil@attacker.example?=",
    "percent-encoded": "x%0D%0ABcc: evil@attacker.example",
    "raw CRLF": "x\r\nBcc: evil@attacker.example",
    "unicode separators": "x\u2028Bcc: evil@attacker.example\u2029\x85Cc: evil@attacker.example",
    "encoded unicode separator": "=?utf-8?q?x=E2=80=A8Bcc:_evil@attacker.example?=",
    "nested encoded word": "=?utf-8?q?=3D=3Futf-8=3Fq=3Fx=3D0D=3D0ABcc=3A=5Fevil=40attacker.example=3F=3D?=",
    "Cc and a second To": "=?utf-8?q?x=0D=0ACc:_evil@attacker.example=0D=0ATo:_evil@attacker.example?=",
}
FIELDS = ["organization name", "schedule name", "report name", "recipient name", "sender", "reply-to",
          "attachment filename", "period"]


def _message(field: str, payload: str):
    """The message a field with `payload` makes (the notices carry the schedule name)."""
    if field == "schedule name":
        return build_failure_notice(sender="Reports <reports@example.com>", reply_to=None,
                                    recipient=Recipient("alice@example.com", "Alice"), schedule_name=payload,
                                    organization_name="Sunfield", period_label="January 2026", error=payload)
    values = dict(sender="Reports <reports@example.com>", reply_to="finance@example.com",
                  recipient=Recipient("alice@example.com", "Alice"), report_name="Comparison",
                  organization_name="Sunfield", period_label="January 2026", file_format="csv",
                  download_url="file:///srv/r.csv", link_expires_hours=None,
                  attachment=("comparison-7.csv", b"a,b\r\n", "text/csv"))
    if field == "organization name":
        values["organization_name"] = payload
    elif field == "report name":
        values["report_name"] = payload
    elif field == "recipient name":
        [recipient], _ = parse_recipients([{"email": "alice@example.com", "name": payload}])
        values["recipient"] = recipient
    elif field == "sender":
        values["sender"] = f"{payload} <reports@example.com>"
    elif field == "reply-to":
        values["reply_to"] = f"{payload} <finance@example.com>"
    elif field == "attachment filename":
        values["attachment"] = (payload, b"a,b\r\n", "text/csv")
    elif field == "period":
        values["period_label"] = payload
    return build_report_message(**values)


def _header_lines(raw: bytes) -> list[bytes]:
    """Header lines (not continuations) of the top level and of every MIME part, as a lenient
    reader would split them: on CRLF, bare CR and bare LF alike."""
    lines = []
    for block in [raw.split(b"\r\n\r\n", 1)[0]] + [part.split(b"\r\n\r\n", 1)[0] for part in raw.split(b"\r\n--")[1:]]:
        lines += [line for line in block.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
                  if line and line[:1] not in (b" ", b"\t")]
    return lines


def _assert_clean(raw: bytes) -> None:
    names = [line.split(b":", 1)[0].strip().lower() for line in _header_lines(raw)]
    assert b"bcc" not in names and b"cc" not in names and names.count(b"to") == 1, names
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["alice@example.com"]
    for part in parsed.walk():
        assert part["Bcc"] is None and part["Cc"] is None


def test_this_interpreter_has_the_flaw_the_cleaning_guards_against():
    """The stdlib alone writes the injected header here (so the tests below can fail)."""
    from email.message import EmailMessage

    if sys.version_info >= (3, 11, 10):
        pytest.skip("CPython >= 3.11.10 fixed gh-121650 itself: the stdlib no longer writes the injected "
                    "header, so there is no flaw to show (the cleaning tests still run)")
    message = EmailMessage()
    message["Subject"] = PAYLOADS["q-encoded CRLF"]
    assert b"\r\nBcc: evil@attacker.example" in message.as_bytes()


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_clean_header_leaves_no_line_break_and_no_encoded_word(payload):
    cleaned = clean_header(payload)
    assert not any(c in cleaned for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029") and "=?" not in cleaned
    assert len(cleaned.splitlines()) == 1


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_reaches_only_the_intended_recipient_over_smtp(field, smtp_server):  # noqa: F811
    mailer = SmtpMailer(smtp_server.url)
    for name, payload in PAYLOADS.items():
        mailer.send(_message(field, payload))
        received = smtp_server.received[-1]
        assert received.rcpt_tos == ["alice@example.com"], name
        assert received.mail_from == "reports@example.com", name
        _assert_clean(received.raw)
    assert len(smtp_server.received) == len(PAYLOADS)


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_reaches_only_the_intended_recipient_through_ses(field, s3_endpoint):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    client = boto3.client("ses", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.verify_email_identity(EmailAddress="reports@example.com")
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    for name, payload in PAYLOADS.items():
        message = _message(field, payload)
        _, _, data = wire_bytes(message)
        SesMailer(client).send(message)
        stored = sent[-1]
        assert stored.raw_data.encode() == data, name  # what SES got is what was checked
        assert [email.utils.parseaddr(d)[1] for d in stored.destinations] == ["alice@example.com"], name
        _assert_clean(data)


def test_a_recipient_address_with_an_encoded_word_is_refused():
    valid, invalid = parse_recipients([{"email": "=?utf-8?q?x=0D=0ABcc=3A_evil=40attacker.example?=@example.com"},
                                       {"email": "alice@example.com", "name": PAYLOADS["q-encoded CRLF"]}])
    assert [r.email for r in valid] == ["alice@example.com"]
    assert invalid == [("=?utf-8?q?x=0D=0ABcc=3A_evil=40attacker.example?=@example.com",
                        "address contains encoded-word syntax (=?)")]


def test_a_configured_sender_must_be_one_address():
    with pytest.raises(UnsafeMessage, match="is not one e-mail address: set it like 'Reports <reports@example.com>'"):
        build_report_message(sender=f"reports@example.com, {EVIL}", reply_to=None,
                             recipient=Recipient("alice@example.com"), report_name="r", organization_name="o",
                             period_label="p", file_format="csv", download_url="file:///r", link_expires_hours=None)
    # a name holding an address stays a name: the address is the one in the last <…>
    _, _, data = wire_bytes(_message("sender", f"x <{EVIL}>, Reports"))
    assert b'From: "x <evil@attacker.example>, Reports" <reports@example.com>' in data
    with pytest.raises(UnsafeMessage, match="the reply-to address"):
        build_report_message(sender="reports@example.com", reply_to="a@example.com, evil@attacker.example",
                             recipient=Recipient("alice@example.com"), report_name="r", organization_name="o",
                             period_label="p", file_format="csv", download_url="file:///r", link_expires_hours=None)


def test_bytes_with_any_other_header_are_never_sent(smtp_server):  # noqa: F811
    """The last guard, whatever the email package does: a Bcc (or a second To) never leaves."""
    message = _message("report name", "Comparison")
    message["Bcc"] = EVIL
    with pytest.raises(UnsafeMessage, match=r"unexpected or repeated headers \['bcc'\]"):
        SmtpMailer(smtp_server.url).send(message)
    del message["Bcc"]
    message.replace_header("To", f"alice@example.com, {EVIL}")
    with pytest.raises(UnsafeMessage, match="exactly one valid To address"):
        SmtpMailer(smtp_server.url).send(message)
    assert smtp_server.received == []


def test_the_delivery_notice_is_clean_too(smtp_server):  # noqa: F811
    payload = PAYLOADS["b-encoded CRLF"]
    SmtpMailer(smtp_server.url).send(build_delivery_notice(
        sender="Reports <reports@example.com>", reply_to=None, recipient=Recipient("alice@example.com", payload),
        schedule_name=payload, organization_name=payload, period_label=payload, error=payload))
    [received] = smtp_server.received
    assert received.rcpt_tos == ["alice@example.com"]
    _assert_clean(received.raw)
    assert received.message["Subject"] == "Scheduled report x Bcc: evil@attacker.example: delivery failed"
