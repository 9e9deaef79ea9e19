"""strato dev under clients that send too much or too slowly: API Gateway's head quota (request line
plus headers, 10,240 bytes), a bounded buffer for heads that never end, and timeouts for slow heads
and stalled bodies. Raw sockets, a few MB at most, a few seconds at most."""

from __future__ import annotations

import socket
import time

import pytest

APP = "tests/apps/attack_app.py"


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(request, tmp_path_factory):
    """Both protocols strato dev can serve with: httptools (installed with strato[dev]) and the h11 fallback."""
    from tests.conftest import start_dev_server, stop

    srv = start_dev_server(
        APP,
        tmp_path_factory.mktemp("limits") / "data",
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
        env={"STRATO_DEV_HTTP": request.param},
    )
    yield srv
    stop(srv.proc)


def open_socket(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=5)
    return sock


def read_all(sock: socket.socket, limit: float = 5.0) -> bytes:
    """Everything until the server closes (or ``limit`` seconds pass)."""
    out, deadline = b"", time.monotonic() + limit
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:  # closed with our unread bytes in its buffer: a reset, after the answer
            return out
        if not chunk:
            return out
        out += chunk
    raise AssertionError(f"the server kept the connection open for {limit}s; got {out[:200]!r}")


def read_response(sock: socket.socket) -> bytes:
    """One keep-alive response: the head, then content-length bytes of body."""
    sock.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k.lower() == b"content-length"
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n".encode()


def test_a_head_over_api_gateways_quota_is_a_431(server):
    with open_socket(server) as sock:
        sock.sendall(get("/flag/x", f"X-Big: {'a' * 10_300}\r\n"))
        assert read_all(sock).startswith(b"HTTP/1.1 431")
    with open_socket(server) as sock:
        sock.sendall(get("/flag/x", f"X-Big: {'a' * 9_000}\r\n"))
        assert read_all(sock).startswith(b"HTTP/1.1 200")


def test_a_head_that_never_ends_is_cut_off_at_a_bounded_size(server):
    for _ in range(5):
        with open_socket(server) as sock:
            sent = 0
            try:
                sock.sendall(b"GET /flag/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
                while sent < 1_000_000:  # never a blank line
                    sock.sendall(b"a" * 65536)
                    sent += 65536
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = read_all(sock)
            assert answer.startswith(b"HTTP/1.1 431") or (answer == b"" and sent < 1_000_000), answer[:100]
    with open_socket(server) as sock:  # and still serving
        sock.sendall(get("/_strato/health"))
        assert read_all(sock).startswith(b"HTTP/1.1 200")


def test_a_slow_head_times_out(server):
    with open_socket(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /flag/x HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(20):  # one byte every 0.2 s: each one would reset an idle timer
                sock.sendall(b"X")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408") or answer == b""
        assert time.monotonic() - started < 3.5


def test_a_silent_client_is_closed(server):
    with open_socket(server) as sock:
        assert read_all(sock, 4).startswith(b"HTTP/1.1 408")


def test_a_stalled_body_is_closed(server):
    with open_socket(server) as sock:
        started = time.monotonic()
        sock.sendall(b'POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"id": ')
        read_all(sock, 4)
        assert time.monotonic() - started < 3.5


def test_keep_alive_and_a_slow_handler_are_not_timeouts(server):
    with open_socket(server) as sock:
        for _ in range(2):
            sock.sendall(b"GET /_strato/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")
        body = b'{"id": "slow", "text": "' + b"x" * 1000 + b'"}'
        head = b"POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
        sock.sendall(head % len(body))
        for i in range(0, len(body), 200):  # a body arriving steadily, over longer than the timeout
            sock.sendall(body[i : i + 200])
            time.sleep(0.3)
        assert read_all(sock).startswith(b"HTTP/1.1 200")


def test_a_slow_second_head_on_a_kept_alive_connection_gets_its_408(server):
    with open_socket(server) as sock:
        sock.sendall(b"GET /_strato/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /_strato/health HTTP/1.1\r\n")
        try:
            for _ in range(15):
                sock.sendall(b"X")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert read_all(sock).startswith(b"HTTP/1.1 408")


def test_a_websocket_outlives_the_body_timeout(server):
    """The upgrade request never 'ends' for h11 (its state stays SEND_BODY), so the body timer used to be
    armed after the upgrade and, when it fired, wrote a raw HTTP 408 into the WebSocket stream: every
    strato dev WebSocket died after --body-timeout seconds (30 by default) with a protocol error."""
    from websockets.sync.client import connect

    with connect(server.url.replace("http://", "ws://") + "/ws/live", open_timeout=5) as ws:
        time.sleep(2.5)  # past the 1 s body and head timeouts of this server
        ws.send('{"action": "still-there"}')
        assert "still-there" in ws.recv(timeout=5)  # the app's $default echo, on a connection still open
