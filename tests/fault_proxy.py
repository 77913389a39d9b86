"""A fault-injecting TCP proxy for tests: put it between a client and a real server (the moto S3
server, PostgreSQL, aiosmtpd) and switch it at run time between healthy and broken.

    from tests.fault_proxy import FaultProxy, fault_proxy  # noqa: F401  (the fixture)

    def test_x(fault_proxy, s3_endpoint):
        proxy = fault_proxy("127.0.0.1", 5432)       # started; stopped after the test
        url = server_url.set(host=proxy.host, port=proxy.port)   # or proxy.rewrite("http://h:p/…")
        proxy.hang()                                  # every byte either way is held, forever
        proxy.hang(seconds=35, direction="down")      # the server's answers arrive 35 s late
        proxy.hang(after_bytes=1000, direction="down")  # stops forwarding answers mid-stream
        proxy.drop(after_bytes=4096, direction="down")  # resets the connection mid-stream
        proxy.refuse()                                # nothing listens: "connection refused"
        proxy.fail_next(2)                            # the next 2 new connections are reset at once,
        proxy.fail_next(1, "hang")                    #   (or held forever), then the current mode
        proxy.pass_through()                          # healthy again; held bytes are released
        proxy.accepted                                # connections accepted so far

Modes apply to open connections as well as new ones (a client's pooled keep-alive connection
hangs too), and are checked for every chunk, so a switch takes effect mid-stream.
`after_bytes` counts the bytes forwarded in `direction` on each connection since the mode was set:
"up" is client → server, "down" server → client, "both" either way (each counted on its own).
A hang with `seconds` holds each connection that long, then lets it pass until the mode changes.
Bytes held by a hang are forwarded when the proxy passes again, as a slow network would; a drop
resets both sides (RST, not a clean close). `refuse` closes the listening socket and resets open
connections (the server went down); any other mode listens again on the same port.
`fail_next(n, kind)` pins a mode for the whole life of the next n connections, whatever the
proxy's mode is later; other connections follow the current mode.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

DIRECTIONS = ("up", "down", "both")
_CHUNK = 65536


def _quiet() -> contextlib.AbstractContextManager:
    return contextlib.suppress(OSError, ValueError)  # a socket closed meanwhile


@dataclass(frozen=True)
class Fault:
    kind: str = "pass"  # pass | hang | drop | refuse
    direction: str = "both"
    after_bytes: int = 0
    seconds: float | None = None  # hang only: None = until the mode changes

    def applies(self, direction: str) -> bool:
        return self.kind != "pass" and self.direction in (direction, "both")


class _Link:
    """One client connection and its upstream connection, pumped by two threads."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket,
                 pinned: Fault | None) -> None:
        self.proxy, self.client, self.upstream, self.pinned = proxy, client, upstream, pinned
        self.counted = {"up": 0, "down": 0}
        self.epoch = -1  # the proxy epoch the counters belong to
        self.released_epoch = -1  # a timed hang ended for this connection in that epoch
        self.hang_started: float | None = None
        self.closed = False
        self.pumps_done = 0

    def fault(self) -> tuple[Fault, int]:
        if self.pinned is not None:
            return self.pinned, -2  # its own epoch, never reset
        return self.proxy._fault, self.proxy._epoch

    def start(self) -> None:
        for direction, src, dst in (("up", self.client, self.upstream), ("down", self.upstream, self.client)):
            threading.Thread(target=self._pump, args=(direction, src, dst), daemon=True,
                             name=f"fault-proxy-{direction}").start()

    def _pump(self, direction: str, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self.closed:
                ready, _, _ = select.select([src], [], [], 0.2)
                if not ready:
                    continue
                data = src.recv(_CHUNK)
                if not data:  # a clean close: pass it on, the other direction goes on
                    with _quiet():
                        dst.shutdown(socket.SHUT_WR)
                    return
                if not self._forward(direction, data, dst):
                    return
        except (OSError, ValueError):
            self.reset()
        finally:
            with self.proxy._changed:
                self.pumps_done += 1
                if self.pumps_done == 2 and not self.closed:  # both sides closed cleanly
                    self.closed = True
                    for sock in (self.client, self.upstream):
                        with _quiet():
                            sock.close()

    def _forward(self, direction: str, data: bytes, dst: socket.socket) -> bool:
        """Send `data` as the mode allows; False when the link is gone."""
        cond = self.proxy._changed
        while data:
            with cond:
                fault, epoch = self.fault()
                if epoch != self.epoch:
                    self.epoch, self.counted, self.hang_started = epoch, {"up": 0, "down": 0}, None
                if self.closed:
                    return False
                if not fault.applies(direction) or self.released_epoch == epoch:
                    allowed = len(data)
                else:
                    allowed = max(0, fault.after_bytes - self.counted[direction])
                if allowed == 0:
                    if fault.kind in ("drop", "refuse"):
                        self._reset_locked()
                        return False
                    # hang: wait for a mode change, the end of a timed hang, or the link's end
                    now = time.monotonic()
                    self.hang_started = self.hang_started or now
                    if fault.seconds is not None and now - self.hang_started >= fault.seconds:
                        self.released_epoch = epoch
                        continue
                    wait = 0.2 if fault.seconds is None else min(0.2, fault.seconds - (now - self.hang_started))
                    cond.wait(max(wait, 0.01))
                    continue
                piece, data = data[:allowed], data[allowed:]
                self.counted[direction] += len(piece)
            dst.sendall(piece)  # outside the lock: a slow peer must not stall the proxy
        return True

    def reset(self) -> None:
        with self.proxy._changed:
            self._reset_locked()

    def _reset_locked(self) -> None:
        if self.closed:
            return
        self.closed = True
        for sock in (self.client, self.upstream):
            with _quiet():
                # linger 0: close() sends RST, as a crashed server or a middlebox would
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with _quiet():
                sock.close()
        self.proxy._changed.notify_all()


class FaultProxy:
    """A TCP proxy on `host`:`port` (a free port by default) to `upstream_host`:`upstream_port`."""

    def __init__(self, upstream_host: str, upstream_port: int | None, host: str = "127.0.0.1", port: int = 0) -> None:
        # an upstream host that is a path is a Unix socket (the embedded PostgreSQL listens on one only)
        self.upstream: tuple[str, int] | str = (
            upstream_host if upstream_host.startswith("/") else (upstream_host, int(upstream_port or 0)))
        self.host, self.port = host, port
        self._changed = threading.Condition()
        self._fault = Fault()
        self._epoch = 0
        self._pinned: list[Fault] = []
        self._links: list[_Link] = []
        self._listener: socket.socket | None = None
        self._stopped = False
        self.accepted = 0

    # --- life cycle ---

    def start(self) -> FaultProxy:
        self._listen()
        threading.Thread(target=self._accept_loop, daemon=True, name="fault-proxy-accept").start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._close_listener()
            for link in self._links:
                link._reset_locked()
            self._changed.notify_all()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def rewrite(self, url: str) -> str:
        """`url` with its host:port replaced by the proxy's (user info, path and query kept)."""
        parts = urllib.parse.urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{self.host}:{self.port}" if userinfo else f"{self.host}:{self.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    # --- modes ---

    def pass_through(self) -> None:
        self._set(Fault())

    def hang(self, seconds: float | None = None, *, after_bytes: int = 0, direction: str = "both") -> None:
        self._set(Fault("hang", direction, after_bytes, seconds))

    def drop(self, *, after_bytes: int = 0, direction: str = "both") -> None:
        self._set(Fault("drop", direction, after_bytes))

    def refuse(self) -> None:
        self._set(Fault("refuse"))

    def fail_next(self, n: int, kind: str = "drop", *, seconds: float | None = None) -> None:
        """The next `n` new connections are reset as soon as they are accepted ("drop") or held
        ("hang", for `seconds` or for good), whatever the mode is later."""
        if kind not in ("drop", "hang"):
            raise ValueError("fail_next takes kind 'drop' or 'hang' (use refuse() for a server that is down)")
        with self._changed:
            self._pinned.extend([Fault(kind, "both", 0, seconds)] * n)

    def _set(self, fault: Fault) -> None:
        if fault.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")
        with self._changed:
            self._fault = fault
            self._epoch += 1
            if fault.kind == "refuse":
                self._close_listener()
                for link in self._links:
                    link._reset_locked()
            elif self._listener is None and not self._stopped:
                self._listen()
            self._changed.notify_all()

    # --- plumbing ---

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]  # the same port when listening again after refuse()
        self._listener = listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            with _quiet():
                # shutdown first: a close alone leaves the socket listening while the accept
                # thread's select() still holds it, and a connect then lands and is reset
                self._listener.shutdown(socket.SHUT_RDWR)
            with _quiet():
                self._listener.close()
            self._listener = None

    def _accept_loop(self) -> None:
        while True:
            with self._changed:
                if self._stopped:
                    return
                listener = self._listener
            if listener is None:
                time.sleep(0.05)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], 0.1)
                if not ready:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):  # closed by refuse() or stop() meanwhile
                continue
            self._serve(client)

    def _serve(self, client: socket.socket) -> None:
        with self._changed:
            self.accepted += 1
            pinned = self._pinned.pop(0) if self._pinned else None
            # drop the links that are gone, so a long test does not keep them all
            self._links = [link for link in self._links if not link.closed]
        try:
            if isinstance(self.upstream, str):
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.settimeout(10)
                upstream.connect(self.upstream)
            else:
                upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
            return
        link = _Link(self, client, upstream, pinned)
        with self._changed:
            self._links.append(link)
        link.start()
        if pinned is not None and pinned.kind == "drop":
            link.reset()  # reset before the first byte: the client sees its connection torn down


@pytest.fixture
def fault_proxy() -> Iterator[Callable[..., FaultProxy]]:
    """A factory: `fault_proxy(upstream_host, upstream_port)` → a started FaultProxy, stopped after the test."""
    started: list[FaultProxy] = []

    def make(upstream_host: str, upstream_port: int) -> FaultProxy:
        proxy = FaultProxy(upstream_host, upstream_port).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()
