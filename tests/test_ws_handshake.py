"""WebSocket clients that leave before the 101, and connections a killed dev server left behind."""

from __future__ import annotations

import os
import signal
import socket

import httpx
import pytest
from websockets.sync.client import connect

from tests.test_worker import wait_until

APP = "tests/apps/attack_app.py"
TRIES = 60


def upgrade(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def abort_handshakes(server, path: str, tries: int = TRIES) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    for _ in range(tries):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(upgrade(path))  # and close before reading the 101


@pytest.fixture
def server(dev_server):
    return dev_server(APP)


def test_an_aborted_handshake_is_forgotten_and_gets_its_disconnect(server):
    with httpx.Client(base_url=server.url, timeout=10) as http:
        abort_handshakes(server, "/ws/live?user=ghost")
        assert wait_until(lambda: http.get("/counts").json()["disconnects"] >= TRIES, 15), http.get("/counts").json()
        assert http.get("/counts").json() == {"connects": TRIES, "disconnects": TRIES}
        assert http.get("/connections").json() == {"ids": []}
        with connect(server.url.replace("http", "ws") + "/ws/live?user=real") as ws:  # still serving
            ws.send('{"a": 1}')
            assert ws.recv(timeout=5) == '{"echo":{"a":1}}'
    assert "Task exception was never retrieved" not in server.output()
    assert "Traceback" not in server.output()


def test_no_disconnect_without_an_accepted_connect(server):
    with httpx.Client(base_url=server.url, timeout=10) as http:
        abort_handshakes(server, "/ws/live?user=refused", 20)
        abort_handshakes(server, "/ws/live?user=counted", 1)
        assert wait_until(lambda: http.get("/counts").json()["disconnects"] >= 1, 10)
        assert http.get("/counts").json() == {"connects": 1, "disconnects": 1}


def test_connections_of_a_killed_dev_server_are_swept_at_start(tmp_path):
    from tests.conftest import start_dev_server, stop

    first = start_dev_server(APP, tmp_path / "data")
    try:
        ws = connect(first.url.replace("http", "ws") + "/ws/live?user=old", legacy=True)
        assert len(httpx.get(first.url + "/connections").json()["ids"]) == 1
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        ws.close()
    finally:
        stop(first.proc)
    second = start_dev_server(APP, tmp_path / "data")
    try:
        assert httpx.get(second.url + "/connections").json() == {"ids": []}
    finally:
        stop(second.proc)


def test_a_send_nobody_awaits_does_not_log_an_unretrieved_gone_error():
    """An async handler's send to a connection that went away meanwhile: routine, not a log flood."""
    import asyncio
    import gc

    from strato.core.errors import GoneError
    from strato.local.ws_gateway import WsGateway

    async def main() -> list:
        problems: list = []
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: problems.append(context["message"]))
        gateway = WsGateway.__new__(WsGateway)
        gateway.loop = loop

        async def gone() -> None:
            raise GoneError("connection x is gone")

        gateway._run(gone())
        await asyncio.sleep(0.05)
        gc.collect()
        await asyncio.sleep(0)
        return problems

    assert asyncio.run(main()) == []


def test_the_gateway_holds_nothing_of_an_aborted_handshake(make_app):
    """In process: the client is gone when the gateway accepts (uvicorn raises ClientDisconnected)."""
    import asyncio

    from strato.local.ws_gateway import WsGateway

    app = make_app()
    ws = app.websocket("live")
    ran = []
    ws.on_connect(lambda conn: ran.append("connect"))
    ws.on_disconnect(lambda msg: ran.append(("disconnect", msg.event["requestContext"]["disconnectStatusCode"])))
    gateway = WsGateway(app, ws)

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    async def send(message: dict) -> None:
        raise ConnectionError("client disconnected")  # what uvicorn's ClientDisconnected is (an OSError)

    scope = {"type": "websocket", "path": "/ws/live", "headers": [(b"host", b"127.0.0.1")], "query_string": b""}
    asyncio.run(gateway(scope, receive, send))
    assert gateway.connections == {}
    assert ran == ["connect", ("disconnect", 1006)]
    assert ws.connections() == []
