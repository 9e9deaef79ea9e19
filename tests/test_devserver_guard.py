"""strato dev's internal endpoints need the data dir's secret, and every request needs a loopback or
allowed Host (DNS rebinding): what a web page in the developer's browser could otherwise do."""

from __future__ import annotations

import socket
import stat

import httpx
import pytest
from websockets.sync.client import connect

APP = "tests/apps/attack_app.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import start_dev_server, stop

    srv = start_dev_server(APP, tmp_path_factory.mktemp("guard") / "data", "--allow-host", "dev.example.test")
    yield srv
    stop(srv.proc)


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def test_the_secret_is_random_and_private_to_the_user(server):
    path = server.data_dir / "internal-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) >= 32  # random bytes (runtime.secrets), sent hex-encoded


def test_a_cross_origin_text_plain_post_cannot_run_a_schedule(server, http):
    page = {"origin": "https://evil.example", "content-type": "text/plain"}
    refused = http.post("/_strato/schedules/nightly/run", headers=page, content="x")
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    wrong = http.post("/_strato/schedules/nightly/run", headers={"x-strato-secret": "guess"})
    assert wrong.status_code == 403
    assert http.get("/flag/nightly").json() == {"value": None}
    ran = http.post("/_strato/schedules/nightly/run", headers=server.secret_headers)
    assert ran.status_code == 200 and "access-control-allow-origin" not in ran.headers
    assert http.get("/flag/nightly").json() == {"value": "ran"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/_strato/outbox"),
        ("GET", "/_strato/routes"),
        ("GET", "/_strato/resources"),
        ("GET", "/_strato/queues"),
        ("GET", "/_strato/schedules"),
        ("POST", "/_strato/ws/staff/@connections/abc"),
        ("DELETE", "/_strato/ws/staff/@connections/abc"),
        ("GET", "/_strato/ws/staff/@connections/abc"),
        ("POST", "/_strato/ws/staff/@broadcast"),
        ("GET", "/_strato/no-such-endpoint"),
    ],
)
def test_private_endpoints_need_the_secret(server, http, method, path):
    assert http.request(method, path, content=b'{"ids": [], "data": ""}').status_code == 403
    allowed = http.request(method, path, content=b'{"ids": [], "data": ""}', headers=server.secret_headers)
    assert allowed.status_code != 403


def test_public_endpoints_stay_public(http):
    assert http.get("/_strato/health").json()["ok"] is True
    assert http.get("/_strato/sns/signing-cert.pem").status_code == 200
    assert http.get("/_strato/meetings/client.js").status_code == 200
    assert http.get("/_strato/sns/confirm", params={"topic": "x", "token": "y"}).status_code == 404  # not 403
    unsigned = http.get("/_strato/buckets/files/k")  # the presigned signature decides, not the secret
    assert unsigned.status_code == 403 and "x-strato-secret" not in unsigned.text
    assert http.get("/_strato/auth/nope/.well-known/jwks.json").status_code == 404


def raw(server, request: bytes) -> bytes:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
            if b"\r\n\r\n" in out:
                break
        return out


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "10.0.0.8"])
def test_a_foreign_host_is_refused_everywhere(server, host):
    for target in ("/flag/x", "/_strato/health", "/_strato/schedules"):
        answer = raw(server, f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 403"), (target, answer[:100])
    upgrade = (
        f"GET /ws/live HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    assert raw(server, upgrade).startswith(b"HTTP/1.1 403")


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:1", "127.0.0.1", "127.8.9.10:80", "[::1]:8000", "dev.example.test"]
)
def test_loopback_and_allowed_hosts_are_served(server, host):
    answer = raw(server, f"GET /_strato/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]


def test_the_allowed_hosts_env(dev_server):
    server = dev_server(APP, env={"STRATO_ALLOWED_HOSTS": "a.test, b.test"})
    for host, status in (("a.test", b"200"), ("b.test:9", b"200"), ("c.test", b"403")):
        answer = raw(server, f"GET /_strato/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert answer.split(b" ")[1] == status, host


def test_the_worker_side_sends_the_secret(server, http):
    """The local WebSocket backend, outside the dev server's process, posts through @connections."""
    import strato
    from strato.websocket.local import LocalWsBackend

    app = strato.App("attack", data_dir=server.data_dir, provider="local")
    backend = LocalWsBackend(app.websocket("live"), server.data_dir)
    with connect(server.url.replace("http", "ws") + "/ws/live?user=w") as ws:
        [cid] = http.get("/connections").json()["ids"]
        backend.send(cid, b"from the worker", True)
        assert ws.recv(timeout=5) == "from the worker"
        assert backend.broadcast([cid], b"all", True) == []
        assert ws.recv(timeout=5) == "all"
    app.close()
