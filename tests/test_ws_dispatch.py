"""The local gateway's dispatch: one connection's messages are handled in arrival order, a connection past
its backlog is told (API Gateway's throttling frame), a post to a client that does not read fails as
PostToConnection's LimitExceededException does, and posts from handler threads keep their order."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.sync.client import connect

from strato.core.errors import GoneError, ServiceUnavailable

APP = "tests/apps/ws_order_app.py"


@pytest.fixture
def server(tmp_path, request):
    from tests.conftest import start_dev_server, stop

    backlog = getattr(request, "param", "1000")
    srv = start_dev_server(APP, tmp_path / "data", env={"STRATO_WS_BACKLOG": backlog})
    yield srv
    stop(srv.proc)


def url(server) -> str:
    return server.url.replace("http", "ws") + "/ws/live"


def test_one_connections_messages_are_answered_in_the_order_they_arrived(server):
    with connect(url(server)) as ws:
        for n in range(40):
            ws.send(json.dumps({"action": "echo", "n": n}))
        assert [json.loads(ws.recv(timeout=10))["n"] for _ in range(40)] == list(range(40))


@pytest.mark.parametrize("server", ["3"], indirect=True)
def test_a_connection_past_its_backlog_is_answered_too_many_requests_and_loses_nothing_else(server):
    with connect(url(server)) as ws, connect(url(server)) as other:
        ws.send(json.dumps({"action": "hold"}))
        assert json.loads(ws.recv(timeout=5)) == {"holding": True}  # its handler is busy from here
        for n in range(5):  # 3 wait (STRATO_WS_BACKLOG=3), 2 are refused at once
            ws.send(json.dumps({"action": "echo", "n": n}))
        refused = [json.loads(ws.recv(timeout=5)) for _ in range(2)]
        # API Gateway answers a throttled message with this frame: the client knows it was not handled
        assert all(r["message"] == "Too Many Requests" and r["connectionId"] and r["requestId"] for r in refused)
        other.send(json.dumps({"action": "release"}))
        assert json.loads(other.recv(timeout=5)) == {"released": True}
        answers = [json.loads(ws.recv(timeout=10)) for _ in range(4)]
        assert answers == [{"held": True}, {"n": 0}, {"n": 1}, {"n": 2}]


class _Transport:
    def __init__(self, buffered: int) -> None:
        self.buffered = buffered

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.buffered


class _Protocol:
    close_sent = False

    def __init__(self, buffered: int) -> None:
        self.transport = _Transport(buffered)


def _gateway_with(buffered: int):
    from strato.local import ws_gateway

    app = __import__("strato").App("bufs")
    gateway = ws_gateway.WsGateway(app, app.websocket("live"))
    gateway.loop = asyncio.new_event_loop()
    conn = ws_gateway.LiveConnection("c1", None, [], "127.0.0.1", "ua")
    conn.state, conn.protocol = "open", _Protocol(buffered)
    gateway.connections["c1"] = conn
    return gateway


def test_a_post_to_a_client_whose_buffer_is_full_fails_as_limit_exceeded(tmp_path, monkeypatch):
    # "LimitExceededException: The client is sending more than the allowed number of requests per unit of
    # time or the WebSocket client side buffer is full." (ApiGatewayManagementApi PostToConnection errors)
    monkeypatch.setenv("STRATO_DATA", str(tmp_path))
    from strato.local.ws_dispatch import SEND_BUFFER_LIMIT

    full = _gateway_with(SEND_BUFFER_LIMIT + 1)
    try:
        with pytest.raises(ServiceUnavailable, match="buffer is full"):
            full.send_threadsafe("c1", b"x", True)
        with pytest.raises(ServiceUnavailable):
            full.broadcast_threadsafe(["c1", "gone"], b"x", True)
        with pytest.raises(GoneError):
            full.send_threadsafe("gone", b"x", True)
    finally:
        full.loop.close()


def test_handlers_that_wait_on_many_connections_do_not_hold_up_another(server):
    """Message handlers run on strato dev's adaptive pool (2 threads while they compute): five connections
    whose handlers wait must not keep a sixth connection's message waiting with them."""
    held = [connect(url(server)) for _ in range(5)]
    try:
        for ws in held:
            ws.send(json.dumps({"action": "hold"}))
        for ws in held:
            assert json.loads(ws.recv(timeout=10)) == {"holding": True}  # five threads taken, waiting
        with connect(url(server)) as other:
            other.send(json.dumps({"action": "echo", "n": 7}))
            assert json.loads(other.recv(timeout=5)) == {"n": 7}  # answered while the five still wait
            other.send(json.dumps({"action": "release"}))
            assert json.loads(other.recv(timeout=5)) == {"released": True}
        for ws in held:
            assert json.loads(ws.recv(timeout=10)) == {"held": True}
    finally:
        for ws in held:
            ws.close()
