"""A real SMTP server for tests: aiosmtpd on a free loopback port, collecting what it receives.

Import the fixture with `from tests.smtp_server import smtp_server  # noqa: F401`.
`server.reject_once(address)` makes the server answer 550 to that recipient the first time only.
Logins are accepted for USER/PASSWORD (without TLS, on loopback) and recorded.
"""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "reports", "s3cret-pass"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    to_reject: set[str] = field(default_factory=set)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            if address.lower() in self.to_reject:
                self.to_reject.discard(address.lower())
                self.rejected.append(address)
                return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class SmtpTestServer:
    def __init__(self, host: str, port: int, handler: _Handler, logins: list[str]) -> None:
        self.host, self.port, self._handler, self.logins = host, port, handler, logins

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._handler.lock:
            return [r.message for r in self._handler.received]

    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def rejected(self) -> list[str]:
        return list(self._handler.rejected)

    def reject_once(self, address: str) -> None:
        with self._handler.lock:
            self._handler.to_reject.add(address.lower())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    handler = _Handler()
    logins: list[str] = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
            and auth_data.password.decode() == PASSWORD
        if ok:
            logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(),
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield SmtpTestServer("127.0.0.1", controller.port, handler, logins)
    finally:
        controller.stop()
