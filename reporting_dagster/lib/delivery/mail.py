"""Report e-mail: recipients, messages and the mailers that send them (SES, SMTP, .eml outbox).

Messages are built from untrusted text (report, organization and recipient names), so every
header value is cleaned (`clean_header`) and every HTML value is escaped. One message goes to
one recipient: a bad or refused address then fails alone.

Header injection through RFC 2047 encoded words: CPython's email package before 3.11.10 / 3.12.5
(gh-121650; this project runs on 3.11.7) decodes `=?utf-8?q?x=0D=0ABcc:_evil@…?=` when a header
is set and writes the decoded CR/LF raw, which makes a real `Bcc:` header. So `clean_header`
decodes encoded words itself (repeatedly: a decoded word may hold another), turns every control
and line-separator character of the decoded text into a space, and then breaks any `=?` left
(`= ?`), so the email package has no encoded word to decode at all; addresses with `=?` are
refused. Every mailer then sends only bytes that `wire_bytes` checked: known header names only,
each once, no bare CR or LF in the header block, exactly one To address and no Cc/Bcc.
"""

from __future__ import annotations

import datetime as dt
import email
import email.errors
import email.header
import email.policy
import email.utils
import html
import json
import os
import re
import smtplib
import ssl
import tempfile
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from reporting_dagster.lib.infra.limits import ses_client, smtp_timeout
from reporting_dagster.lib.requests.parameters import too_deep

# SES raw messages are limited to 10 MB after base64 (+33 %): 7 MiB of file leaves room for the body.
ATTACHMENT_LIMIT_BYTES = 7 * 1024 * 1024

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"            # local part: no spaces, commas, quotes, @, CR/LF
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"  # dotted domain labels
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"  # a TLD, or its punycode form
)
# C0 and C1 controls (CR, LF, VT, FF, the file/group/record separators, NEL) and the Unicode line
# and paragraph separators: everything str.splitlines() or a mail parser may take as a line end
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_DECODE_ROUNDS = 5


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


class UnsafeMessage(ValueError):
    """A message or setting that could carry more (or other) headers or recipients than built."""


def clean_header(value: Any, limit: int = 200) -> str:
    """One line of text safe for a header, as a mail client would show it: encoded words decoded,
    control and line-separator characters (also decoded ones) turned into spaces, no `=?` left."""
    text = _CONTROL.sub(" ", str(value))
    for _ in range(_DECODE_ROUNDS):
        if "=?" not in text:
            break
        decoded = _CONTROL.sub(" ", _decode_words(text))
        if decoded == text:
            break
        text = decoded
    return " ".join(text.replace("=?", "= ?").split())[:limit]


def _decode_words(text: str) -> str:
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
        return text  # undecodable: left as text, its `=?` broken by the caller


def email_problem(email: str) -> str | None:
    """Why `email` is not a usable single address, or None when it is."""
    if not email:
        return "empty address"
    if _CONTROL.search(email) or any(c in email for c in " ,;<>\"()[]\\"):
        return "address contains spaces, separators or control characters"
    if "=?" in email:
        return "address contains encoded-word syntax (=?)"
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


MAX_RECIPIENTS_TEXT = 1_000_000  # characters of scheduled_report.recipients read at most


def parse_recipients(value: Any) -> tuple[list[Recipient], list[tuple[str, str]]]:
    """Valid recipients and (raw, reason) for invalid ones from scheduled_report.recipients.

    Accepts the JSONB value (a list of {email, name?}, or a JSON string of one) and tolerates plain
    address strings. Duplicates are dropped case-insensitively, the first one wins.
    """
    if value is None:
        return [], []
    for _ in range(2):  # the column's JSON text, then a JSON string it may hold (a list, or addresses)
        if not isinstance(value, str):
            break
        if len(value) > MAX_RECIPIENTS_TEXT or too_deep(value):
            # the whole list is refused, visibly (one invalid row), never handed to a recursive parser
            return [], [("(recipients)", "recipients is not readable: it is nested too deeply or larger than "
                         f"{MAX_RECIPIENTS_TEXT} characters; give a JSON list of {{email, name}} objects")]
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


_CONFIG_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")
_NAME_AND_ADDRESS = re.compile(r"^(.*)<([^<>]*)>\s*$", re.DOTALL)


def config_address(value: str, what: str) -> Address:
    """The one address of a configured sender or reply-to (`Name <addr>` or `addr`). The address
    is taken from the raw value (never from decoded text) and must be one plain address; the name
    is cleaned like any header. Anything else stops the message, saying what to set."""
    text = str(value).strip()
    match = _NAME_AND_ADDRESS.match(text)
    name, addr = (match.group(1), match.group(2).strip()) if match else ("", text)
    if not _CONFIG_ADDRESS.match(addr) or addr.count("@") != 1 or "=?" in addr:
        raise UnsafeMessage(f"{what} {clean_header(text, 300)!r} is not one e-mail address: "
                            "set it like 'Reports <reports@example.com>'")
    local, domain = addr.rsplit("@", 1)
    return Address(display_name=clean_header(name.strip().strip('"')), username=local, domain=domain)


def _headers(
    message: EmailMessage, *, sender: str, reply_to: str | None, recipient: Recipient, subject: str
) -> None:
    from_address = config_address(sender, "the sender (SES_FROM_EMAIL)")
    message["From"] = from_address
    message["To"] = recipient.address()
    if reply_to:
        message["Reply-To"] = config_address(reply_to, "the reply-to address (SES_REPLY_TO_EMAIL)")
    message["Subject"] = clean_header(subject, 250)
    message["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    domain = re.sub(r"[^A-Za-z0-9.-]", "", from_address.domain)
    message["Message-ID"] = make_msgid(domain=domain or "reporting.local")


_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")


def report_subject(report_name: str, organization_name: str, period_label: str) -> str:
    """`<report> — <organization> — <period>`, each said once: a report name that already holds
    the organization or a period (the monthly pack's "Invoice Aging Report — Karoo Solar —
    October 2026", a scheduled run's "Quarterly aging — Q3 2026") is not given them again; "Group
    pack (since 2024)" for October 2026 is."""
    report, org, period = clean_header(report_name), clean_header(organization_name), clean_header(period_label)
    parts = [report]
    if org and org.casefold() not in report.casefold():
        parts.append(org)
    # a name that holds the period's own year names its period ("Q3 2026"); another year does not
    named = set(_YEAR.findall(period)) & set(_YEAR.findall(report))
    if period and period.casefold() not in report.casefold() and not named:
        parts.append(period)
    return " — ".join(p for p in parts if p)


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
    key_figures: Sequence[str] = (),
) -> EmailMessage:
    """The "your report is ready" message: plain text, an escaped HTML alternative, the file.

    `link_expires_hours` None means the link does not expire (a local file path). `key_figures`
    (lib/delivery/key_figures.py) are lines of the report's own summary, shown in both parts.
    `attachment` is (readable file name, bytes, content type); a non-ASCII name is sent RFC 2231
    encoded by the email package (`filename*=utf-8''…`).
    """
    report, org, period = clean_header(report_name), clean_header(organization_name), clean_header(period_label)
    fmt = clean_header(file_format).upper()
    link = clean_header(download_url, 4000)
    figures = [clean_header(line, 300) for line in key_figures if clean_header(line, 300)]
    message = EmailMessage()
    _headers(message, sender=sender, reply_to=reply_to, recipient=recipient,
             subject=report_subject(report_name, organization_name, period_label))

    expiry = f" The link expires in {link_expires_hours} hours." if link_expires_hours else ""
    filename = clean_header(attachment[0], 150) if attachment else ""
    attached = (f"The file is attached ({filename})." if attachment
                else "The file is too large to attach; please use the link.")
    greeting = f"Hello {recipient.name}," if recipient.name else "Hello,"
    figures_text = ("Key figures:\n" + "".join(f"  - {line}\n" for line in figures) + "\n") if figures else ""
    message.set_content(
        f"{greeting}\n\n"
        f"The report \"{report}\" for {org}, period {period}, is ready ({fmt}).\n\n"
        f"{figures_text}"
        f"Download: {link}\n{expiry.strip()}\n\n{attached}\n\n"
        "This message was sent automatically by the reporting service.\n"
    )
    e = html.escape
    expiry_html = f"<p>{e(expiry.strip())}</p>" if expiry else ""
    figures_html = ("<p><strong>Key figures</strong></p><ul>" + "".join(f"<li>{e(line)}</li>" for line in figures)
                    + "</ul>") if figures else ""
    message.add_alternative(
        "<!DOCTYPE html><html><body>"
        f"<p>{e(greeting)}</p>"
        f"<p>The report <strong>{e(report)}</strong> for <strong>{e(org)}</strong>, "
        f"period {e(period)}, is ready ({e(fmt)}).</p>"
        f"{figures_html}"
        f"<p><a href=\"{e(link, quote=True)}\">Download the report</a></p>{expiry_html}"
        f"<p>{e(attached)}</p>"
        "<p style=\"color:#666\">This message was sent automatically by the reporting service.</p>"
        "</body></html>",
        subtype="html",
    )
    if attachment is not None:
        _, data, mime = attachment
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=filename or "report",
                               params={"charset": "utf-8"} if maintype == "text" else None)  # CSV/HTML are UTF-8
    return message


def build_failure_notice(*, sender: str, reply_to: str | None, recipient: Recipient, schedule_name: str,
                         organization_name: str, period_label: str, error: str) -> EmailMessage:
    """The "scheduled report failed" notice: which schedule, which period and the short error."""
    return _owner_notice(
        sender=sender, reply_to=reply_to, recipient=recipient, schedule_name=schedule_name,
        organization_name=organization_name, period_label=period_label, error=error,
        subject="Scheduled report {name} failed", what="could not be generated.",
        after="You will not receive another notice until the schedule has succeeded again.")


def build_delivery_notice(*, sender: str, reply_to: str | None, recipient: Recipient, schedule_name: str,
                          organization_name: str, period_label: str, error: str) -> EmailMessage:
    """The "report made, delivery failed" notice: the report exists, some copies did not arrive."""
    return _owner_notice(
        sender=sender, reply_to=reply_to, recipient=recipient, schedule_name=schedule_name,
        organization_name=organization_name, period_label=period_label, error=error,
        subject="Scheduled report {name}: delivery failed",
        what="was made, but it could not be delivered to every recipient.",
        after="Failed deliveries are tried again automatically for a while. You will not receive another "
              "notice until the schedule has succeeded again.")


def _owner_notice(*, sender: str, reply_to: str | None, recipient: Recipient, schedule_name: str,
                  organization_name: str, period_label: str, error: str, subject: str, what: str,
                  after: str) -> EmailMessage:
    """A notice to a schedule's owners: every value from the data is a cleaned header/one line."""
    name, org, period = clean_header(schedule_name), clean_header(organization_name), clean_header(period_label)
    message = EmailMessage()
    _headers(message, sender=sender, reply_to=reply_to, recipient=recipient, subject=subject.format(name=name))
    greeting = f"Hello {recipient.name}," if recipient.name else "Hello,"
    message.set_content(
        f"{greeting}\n\n"
        f"The scheduled report \"{name}\" for {org}, period {period}, {what}\n\n"
        f"Error: {clean_header(error, 500)}\n\n"
        f"{after}\n"
    )
    return message


# --- what leaves: checked bytes --------------------------------------------------------------

_TOP_HEADERS = frozenset({"from", "to", "reply-to", "subject", "date", "message-id", "mime-version",
                          "content-type", "content-transfer-encoding"})
_PART_HEADERS = frozenset({"content-type", "content-transfer-encoding", "content-disposition", "mime-version"})
_BARE_EOL = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def wire_bytes(message: EmailMessage) -> tuple[str, str, bytes]:
    """(envelope sender, the one recipient, the CRLF bytes to send), after checking the bytes
    themselves, as a receiving server would read them: only the headers this module writes, each
    once, in every part; no bare CR or LF in the header block; one To address, no Cc/Bcc. This
    holds whatever the interpreter's email package does with a value (gh-121650)."""
    data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    head = data.split(b"\r\n\r\n", 1)[0]
    if _BARE_EOL.search(head):
        raise UnsafeMessage("message refused: a header holds a bare CR or LF")
    raw = email.message_from_bytes(data, policy=email.policy.compat32)  # no decoding of anything
    for part in raw.walk():
        allowed = _TOP_HEADERS if part is raw else _PART_HEADERS
        names = [k.lower() for k in part.keys()]
        unknown = sorted(set(names) - allowed)
        if unknown or len(names) != len(set(names)):
            raise UnsafeMessage(f"message refused: unexpected or repeated headers {unknown or names}")
    recipients = email.utils.getaddresses(raw.get_all("To", []))
    senders = email.utils.getaddresses(raw.get_all("From", []))
    if len(recipients) != 1 or email_problem(recipients[0][1]) or len(senders) != 1 or not senders[0][1]:
        raise UnsafeMessage("message refused: it must have one From and exactly one valid To address")
    return senders[0][1], recipients[0][1], data


class ReplyLost(Exception):
    """The server has the whole message but its reply never came (a timeout or a dropped
    connection after the last byte): taken as accepted, so it is recorded as sent and never sent
    again (at most once: the message may, rarely, not have been accepted after all)."""

    def __init__(self, provider_message_id: str, detail: str) -> None:
        super().__init__(detail)
        self.provider_message_id, self.detail = provider_message_id, detail


Handover = Callable[[], None]


class Mailer(ABC):
    """Sends one finished message; returns the provider's message id.

    `handover`, when given, is called once just before the message's last byte leaves (after it,
    the provider may have it). It raises to stop the send: the caller's claim is no longer its own.
    """

    kind = "mailer"

    @abstractmethod
    def send(self, message: EmailMessage, handover: Handover | None = None) -> str: ...


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

    def send(self, message: EmailMessage, handover: Handover | None = None) -> str:
        """A failure before the DATA terminator left is an error to retry (the server discards a
        message it did not get whole); a timeout or dropped connection after it is `ReplyLost`."""
        sender, recipient, data = wire_bytes(message)
        context = ssl.create_default_context()
        if self.implicit_tls:
            client: _PhasedSMTP | _PhasedSMTPSSL = _PhasedSMTPSSL(self.host, self.port, timeout=self.timeout,
                                                                  context=context)
        else:
            client = _PhasedSMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.before_last_byte = handover
            try:
                refused = client.sendmail(sender, [recipient], data)
            except smtplib.SMTPResponseException:
                raise  # the server answered: a definite refusal
            except OSError as exc:  # timeouts and lost connections (SMTPServerDisconnected too)
                if client.terminated:
                    raise ReplyLost(_message_id(message), (
                        f"accepted, reply timed out: the server received the whole message but did not "
                        f"answer within {self.timeout:g} s ({type(exc).__name__}); not sent again")) from None
                raise
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
            try:
                client.quit()
            except OSError:
                pass  # accepted already: a lost goodbye changes nothing
        finally:
            client.close()
        return _message_id(message)


_LEADING_DOT = re.compile(rb"(?m)^\.")


class _Phased:
    """smtplib's DATA step in two halves, so the caller knows whether the server has the whole
    message: `before_last_byte` runs between the body and the terminating dot, `terminated` says
    whether the dot was written."""

    before_last_byte: Handover | None = None
    terminated = False

    def data(self, msg: bytes) -> tuple[int, bytes]:
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = _LEADING_DOT.sub(b"..", msg)  # RFC 5321 4.5.2: a line's leading dot is doubled
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body)
        if self.before_last_byte is not None:
            self.before_last_byte()  # raising here leaves the server without a terminator: discarded
        self.send(b".\r\n")
        self.terminated = True
        return self.getreply()


class _PhasedSMTP(_Phased, smtplib.SMTP):
    pass


class _PhasedSMTPSSL(_Phased, smtplib.SMTP_SSL):
    pass


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

    def send(self, message: EmailMessage, handover: Handover | None = None) -> str:
        # no Destinations: SES then takes the recipients from the To/Cc/Bcc headers, which
        # wire_bytes checked are the one To address built
        _, _, data = wire_bytes(message)
        kwargs: dict[str, Any] = {"RawMessage": {"Data": data}}
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        if handover is not None:
            handover()  # a worker killed during the call: SES may have it, so it is not sent again
        try:
            return str(self.client.send_raw_email(**kwargs)["MessageId"])
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            # the request went out (ses_client retries only connections that never opened), the
            # answer did not come: SES may have sent it, and sending again could give a second copy
            raise ReplyLost(_message_id(message), (
                f"accepted, reply timed out: the request reached SES but its answer did not come "
                f"({exc}); SES may have sent it, so it is not sent again")) from None


class OutboxMailer(Mailer):
    """Writes `<message-id>.eml` files: the demo's and development's post office."""

    kind = "outbox"

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        if directory is None:
            from reporting_dagster.lib.infra.paths import state_dir

            directory = state_dir() / "outbox"
        self.directory = Path(directory)

    def send(self, message: EmailMessage, handover: Handover | None = None) -> str:
        _, _, data = wire_bytes(message)
        message_id = _message_id(message) or make_msgid(domain="reporting.local")
        name = re.sub(r"[^A-Za-z0-9._@-]", "_", message_id.strip("<>"))[:200] + ".eml"
        self.directory.mkdir(parents=True, exist_ok=True)
        # write a temporary file, then rename: a reader never sees half a message
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".incoming-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if handover is not None:
                handover()
            os.replace(tmp, self.directory / name)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return message_id
