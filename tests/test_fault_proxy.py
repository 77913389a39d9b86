"""The fault proxy itself (tests/fault_proxy.py), against a small echo server: each mode does
what its docstring says, so tests built on it fail for their own reasons."""

import socket
import socketserver
import threading
import time

import pytest

from tests.fault_proxy import FaultProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def proxy():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with FaultProxy("127.0.0.1", server.server_address[1]) as p:
        yield p
    server.shutdown()
    server.server_close()


def _connect(proxy, timeout=2.0):
    return socket.create_connection(proxy.address, timeout=timeout)


def _echo(sock, data: bytes) -> bytes:
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def test_pass_forwards_both_ways(proxy):
    with _connect(proxy) as sock:
        assert _echo(sock, b"hello") == b"hello"
    assert proxy.accepted == 1


def test_hang_holds_open_connections_and_releases_their_bytes(proxy):
    with _connect(proxy, timeout=0.5) as sock:
        assert _echo(sock, b"one") == b"one"
        proxy.hang()
        sock.sendall(b"two")
        with pytest.raises(TimeoutError):
            sock.recv(10)
        proxy.pass_through()  # what was held goes on
        sock.settimeout(2)
        assert sock.recv(10) == b"two"


def test_a_timed_hang_delays_each_connection(proxy):
    proxy.hang(seconds=0.6, direction="down")
    with _connect(proxy) as sock:
        started = time.monotonic()
        assert _echo(sock, b"late") == b"late"
        assert 0.6 <= time.monotonic() - started < 1.5
        started = time.monotonic()
        assert _echo(sock, b"then on time") == b"then on time"  # released for the rest of the mode
        assert time.monotonic() - started < 0.3


def test_drop_after_bytes_resets_mid_stream(proxy):
    proxy.drop(after_bytes=1000, direction="down")
    with _connect(proxy) as sock:
        sock.sendall(b"x" * 5000)
        got = b""
        with pytest.raises(ConnectionResetError):
            while chunk := sock.recv(65536):
                got += chunk
        assert len(got) == 1000


def test_refuse_stops_listening_and_pass_listens_again_on_the_same_port(proxy):
    port = proxy.port
    proxy.refuse()
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    proxy.pass_through()
    assert proxy.port == port
    with _connect(proxy) as sock:
        assert _echo(sock, b"back") == b"back"


def test_fail_next_fails_only_the_next_connections(proxy):
    proxy.fail_next(2)
    for _ in range(2):
        with _connect(proxy) as sock:
            with pytest.raises((ConnectionResetError, BrokenPipeError)):  # whichever meets the reset first
                sock.sendall(b"x")
                sock.recv(1)
    with _connect(proxy) as sock:
        assert _echo(sock, b"third") == b"third"
    assert proxy.accepted == 3
