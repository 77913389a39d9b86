"""A real SMTP server for tests: aiosmtpd on a free loopback port, collecting what it receives.

Import the fixture with `from tests.smtp_server import smtp_server  # noqa: F401`.
`server.reject_once(address)` makes the server answer 550 to that recipient the first time only.
Logins are accepted for USER/PASSWORD (without TLS, on loopback) and recorded.
Faults: `server.hold("RCPT" | "DATA")` stops the next transaction at that point (DATA: after the
message was received and recorded, before the 250 reply) until released; `server.reply_delay`
delays every 250 reply to DATA; `server.stop()` / `server.start()` take it down and up again on
the same port.
"""

from __future__ import annotations

import asyncio
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
    raw: bytes = b""


@dataclass
class Hold:
    """Where a transaction waits: `reached` is set when it gets there, `release()` lets it go on
    (it goes on by itself after `timeout` seconds)."""

    timeout: float = 30.0
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    to_reject: set[str] = field(default_factory=set)
    rejected: list[str] = field(default_factory=list)
    holds: dict[str, Hold] = field(default_factory=dict)
    reply_delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def _pause(self, phase: str) -> None:
        with self.lock:
            hold = self.holds.pop(phase, None)
        if hold is not None:
            hold.reached.set()
            await asyncio.get_running_loop().run_in_executor(None, hold.released.wait, hold.timeout)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        await self._pause("RCPT")
        with self.lock:
            if address.lower() in self.to_reject:
                self.to_reject.discard(address.lower())
                self.rejected.append(address)
                return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw))
        await self._pause("DATA")
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 Message accepted for delivery"


class SmtpTestServer:
    def __init__(self, host: str, port: int, handler: _Handler, logins: list[str], authenticator) -> None:
        self.host, self.port, self._handler, self.logins = host, port, handler, logins
        self._authenticator = authenticator
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self._handler, hostname=self.host, port=self.port,
                                          authenticator=self._authenticator, auth_require_tls=False)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def hold(self, phase: str, timeout: float = 30.0) -> Hold:
        hold = Hold(timeout)
        with self._handler.lock:
            self._handler.holds[phase] = hold
        return hold

    @property
    def reply_delay(self) -> float:
        return self._handler.reply_delay

    @reply_delay.setter
    def reply_delay(self, seconds: float) -> None:
        self._handler.reply_delay = seconds

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

    server = SmtpTestServer("127.0.0.1", _free_port(), handler, logins, authenticate)
    server.start()
    try:
        yield server
    finally:
        server.stop()
