"""Report e-mail: recipients, messages and the mailers that send them (SES, SMTP, .eml outbox).

Messages are built from untrusted text (report, organization and recipient names), so every
header value is cleaned of control characters and every HTML value is escaped. One message
goes to one recipient: a bad or refused address then fails alone.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import smtplib
import ssl
import tempfile
import urllib.parse
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from reporting_dagster.lib.infra.limits import ses_client, smtp_timeout

# SES raw messages are limited to 10 MB after base64 (+33 %): 7 MiB of file leaves room for the body.
ATTACHMENT_LIMIT_BYTES = 7 * 1024 * 1024

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"            # local part: no spaces, commas, quotes, @, CR/LF
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"  # dotted domain labels
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"  # a TLD, or its punycode form
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None = None

    @property
    def key(self) -> str:
        """The address as recorded in report_delivery (case-insensitive identity)."""
        return self.email.lower()

    def address(self) -> Address:
        local, domain = self.email.rsplit("@", 1)
        return Address(display_name=clean_header(self.name or ""), username=local, domain=domain)


def clean_header(value: Any, limit: int = 200) -> str:
    """One line of text safe for a header: control characters (CR, LF, …) become spaces."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())[:limit]


def email_problem(email: str) -> str | None:
    """Why `email` is not a usable single address, or None when it is."""
    if not email:
        return "empty address"
    if _CONTROL.search(email) or any(c in email for c in " ,;<>\"()[]\\"):
        return "address contains spaces, separators or control characters"
    if email.count("@") != 1:
        return "address must contain exactly one @"
    if len(email) > 254:
        return "address is longer than 254 characters"
    local, domain = email.split("@")
    if not local or local.startswith(".") or local.endswith(".") or ".." in local or len(local) > 64:
        return "invalid local part"
    if not _EMAIL.match(email):
        return "invalid domain (expected a dotted domain name)"
    try:
        Address(username=local, domain=domain)
    except (ValueError, IndexError) as exc:  # the stdlib parser is the last word
        return f"invalid address: {exc}"
    return None


def parse_recipients(value: Any) -> tuple[list[Recipient], list[tuple[str, str]]]:
    """Valid recipients and (raw, reason) for invalid ones from scheduled_report.recipients.

    Accepts the JSONB value (a list of {email, name?}, or a JSON string of one) and tolerates plain
    address strings. Duplicates are dropped case-insensitively, the first one wins.
    """
    if value is None:
        return [], []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [part for part in value.split(",") if part.strip()]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return [], [(str(value)[:200], "recipients must be a list")]

    valid: list[Recipient] = []
    invalid: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in value:
        if isinstance(item, str):
            email, name = item, None
        elif isinstance(item, dict) and isinstance(item.get("email"), str):
            email, name = item["email"], item.get("name")
        else:
            invalid.append((str(item)[:200], "expected an address or {email, name}"))
            continue
        email = email.strip()
        problem = email_problem(email)
        if problem:
            invalid.append((email[:200], problem))
            continue
        if email.lower() in seen:
            continue
        seen.add(email.lower())
        cleaned = clean_header(name) if isinstance(name, str) else ""
        valid.append(Recipient(email=email, name=cleaned or None))
    return valid, invalid


def _headers(
    message: EmailMessage, *, sender: str, reply_to: str | None, recipient: Recipient, subject: str
) -> None:
    sender = clean_header(sender, 300)
    message["From"] = sender
    message["To"] = recipient.address()
    if reply_to:
        message["Reply-To"] = clean_header(reply_to, 300)
    message["Subject"] = clean_header(subject, 250)
    message["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "reporting.local"
    message["Message-ID"] = make_msgid(domain=re.sub(r"[^A-Za-z0-9.-]", "", domain) or "reporting.local")


def build_report_message(
    *,
    sender: str,
    reply_to: str | None,
    recipient: Recipient,
    report_name: str,
    organization_name: str,
    period_label: str,
    file_format: str,
    download_url: str,
    link_expires_hours: int | None,
    attachment: tuple[str, bytes, str] | None = None,
) -> EmailMessage:
    """The "your report is ready" message: plain text, an escaped HTML alternative, the file.

    `link_expires_hours` None means the link does not expire (a local file path).
    """
    report, org, period = clean_header(report_name), clean_header(organization_name), clean_header(period_label)
    fmt = clean_header(file_format).upper()
    link = clean_header(download_url, 4000)
    message = EmailMessage()
    _headers(message, sender=sender, reply_to=reply_to, recipient=recipient,
             subject=f"{report} - {org} - {period}")

    expiry = f" The link expires in {link_expires_hours} hours." if link_expires_hours else ""
    attached = (f"The file is attached ({attachment[0]})." if attachment
                else "The file is too large to attach; please use the link.")
    greeting = f"Hello {recipient.name}," if recipient.name else "Hello,"
    message.set_content(
        f"{greeting}\n\n"
        f"The report \"{report}\" for {org}, period {period}, is ready ({fmt}).\n\n"
        f"Download: {link}\n{expiry.strip()}\n\n{attached}\n\n"
        "This message was sent automatically by the reporting service.\n"
    )
    e = html.escape
    expiry_html = f"<p>{e(expiry.strip())}</p>" if expiry else ""
    message.add_alternative(
        "<!DOCTYPE html><html><body>"
        f"<p>{e(greeting)}</p>"
        f"<p>The report <strong>{e(report)}</strong> for <strong>{e(org)}</strong>, "
        f"period {e(period)}, is ready ({e(fmt)}).</p>"
        f"<p><a href=\"{e(link, quote=True)}\">Download the report</a></p>{expiry_html}"
        f"<p>{e(attached)}</p>"
        "<p style=\"color:#666\">This message was sent automatically by the reporting service.</p>"
        "</body></html>",
        subtype="html",
    )
    if attachment is not None:
        filename, data, mime = attachment
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=clean_header(filename, 120))
    return message


def build_failure_notice(
    *,
    sender: str,
    reply_to: str | None,
    recipient: Recipient,
    schedule_name: str,
    organization_name: str,
    period_label: str,
    error: str,
) -> EmailMessage:
    """The "scheduled report failed" notice: which schedule, which period and the short error."""
    name, org, period = clean_header(schedule_name), clean_header(organization_name), clean_header(period_label)
    message = EmailMessage()
    _headers(message, sender=sender, reply_to=reply_to, recipient=recipient,
             subject=f"Scheduled report {name} failed")
    greeting = f"Hello {recipient.name}," if recipient.name else "Hello,"
    message.set_content(
        f"{greeting}\n\n"
        f"The scheduled report \"{name}\" for {org}, period {period}, could not be generated.\n\n"
        f"Error: {clean_header(error, 500)}\n\n"
        "You will not receive another notice until the schedule has succeeded again.\n"
    )
    return message


class Mailer(ABC):
    """Sends one finished message; returns the provider's message id."""

    kind = "mailer"

    @abstractmethod
    def send(self, message: EmailMessage) -> str: ...


def _message_id(message: EmailMessage) -> str:
    return str(message.get("Message-ID", "")).strip()


class SmtpMailer(Mailer):
    """`smtp://user:pass@host:port`, `smtps://…` (implicit TLS), `smtp://host:port?starttls=true`.

    `timeout` (else the URL's `?timeout=`, else REPORTS_SMTP_TIMEOUT, else 30 s) bounds the connect
    and the wait for every answer: smtplib gives the socket that one timeout.
    """

    kind = "smtp"

    def __init__(self, url: str, timeout: float | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP URL must look like smtp://[user:pass@]host[:port] or smtps://…")
        query = urllib.parse.parse_qs(parts.query)
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 587 if self.starttls else 25)
        self.username = urllib.parse.unquote(parts.username) if parts.username else None
        self.password = urllib.parse.unquote(parts.password) if parts.password else None
        self.timeout = timeout if timeout is not None else smtp_timeout(query.get("timeout", [None])[0])

    def __repr__(self) -> str:  # never show the password
        return f"SmtpMailer({'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port})"

    def send(self, message: EmailMessage) -> str:
        context = ssl.create_default_context()
        if self.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            refused = client.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
        return _message_id(message)


class SesMailer(Mailer):
    """Amazon SES v1 `SendRawEmail` (attachments need the raw API)."""

    kind = "ses"

    def __init__(self, client: Any, configuration_set: str | None = None) -> None:
        self.client = client
        self.configuration_set = configuration_set

    @classmethod
    def for_region(cls, region: str | None = None, endpoint_url: str | None = None) -> SesMailer:
        region = region or os.environ.get("AWS_SES_REGION") or None
        return cls(ses_client(region, endpoint_url))  # explicit timeouts; retries only what surely did not send

    def send(self, message: EmailMessage) -> str:
        # no Destinations: SES then takes the recipients from the To/Cc headers, exactly once
        kwargs: dict[str, Any] = {"RawMessage": {"Data": message.as_bytes()}}
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        return str(self.client.send_raw_email(**kwargs)["MessageId"])


class OutboxMailer(Mailer):
    """Writes `<message-id>.eml` files: the demo's and development's post office."""

    kind = "outbox"

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        if directory is None:
            from reporting_dagster.lib.infra.paths import state_dir

            directory = state_dir() / "outbox"
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> str:
        message_id = _message_id(message) or make_msgid(domain="reporting.local")
        name = re.sub(r"[^A-Za-z0-9._@-]", "_", message_id.strip("<>"))[:200] + ".eml"
        self.directory.mkdir(parents=True, exist_ok=True)
        # write a temporary file, then rename: a reader never sees half a message
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".incoming-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(message.as_bytes())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.directory / name)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return message_id
