"""The local API Gateway WebSocket gateway, driven by real `websockets` clients over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.test_worker import wait_until

ROOT = Path(__file__).resolve().parent.parent
APP = "tests/apps/ws_app.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import start_dev_server, stop

    srv = start_dev_server(APP, tmp_path_factory.mktemp("ws") / "data")
    yield srv
    stop(srv.proc)


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def ws_url(server, name: str = "live", **query: str) -> str:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{server.url.replace('http', 'ws')}/ws/{name}" + (f"?{qs}" if qs else "")


def ask(ws, payload) -> dict:
    ws.send(json.dumps(payload) if not isinstance(payload, (str, bytes)) else payload)
    return json.loads(ws.recv(timeout=5))


def my_id(http, user: str) -> str:
    [found] = [c["id"] for c in http.get("/connections").json()["items"] if c["data"]["user"] == user]
    return found


def test_connect_is_authorised_by_the_handler(server, http):
    with pytest.raises(InvalidStatus) as missing:
        connect(ws_url(server))
    assert missing.value.response.status_code == 401 and b"token required" in missing.value.response.body
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server, token="bad"))
    assert refused.value.response.status_code == 403
    with connect(ws_url(server, token="ana", room="r1"), user_agent_header="test-agent/1") as ws:
        assert ask(ws, {"action": "echo", "n": 1}) == {"echo": {"action": "echo", "n": 1}, "me": "ana", "route": "echo"}
        [entry] = [c for c in http.get("/connections").json()["items"] if c["data"]["user"] == "ana"]
        assert entry["data"]["room"] == "r1" and entry["data"]["agent"] == "test-agent/1"
        assert entry["data"]["early_send"] == "gone"  # posting during $connect fails, as on API Gateway
        assert entry["source_ip"] == "127.0.0.1"


def test_route_selection_default_route_and_binary_frames(server):
    with connect(ws_url(server, token="bo")) as ws:
        assert ask(ws, "plain text")["default"] == "plain text"
        assert ask(ws, {"action": "nope"})["default"] == '{"action": "nope"}'
        assert ask(ws, {"no_action": 1})["binary"] is False
        assert ask(ws, '["a", "list"]')["default"] == '["a", "list"]'
        assert ask(ws, b"\x00\x01\x02") == {"default": 3, "binary": True, "size": 3}
        assert ask(ws, b'{"action": "echo"}')["binary"] is True  # route selection only reads text frames


def test_error_frames_as_api_gateway_sends_them(server):
    with connect(ws_url(server, token="cy")) as ws:
        reply = ask(ws, {"action": "boom"})
        assert reply["message"] == "Internal server error" and reply["connectionId"] and reply["requestId"]
        assert ask(ws, {"action": "echo"})["me"] == "cy"  # still connected
    with connect(ws_url(server, name="strict")) as ws:
        ws.send(json.dumps({"action": "only"}))
        assert ws.recv(timeout=5) == "ok"
        reply = ask(ws, {"action": "other"})
        assert reply["message"] == "Forbidden" and "connectionId" in reply


def test_broadcast_by_room_and_room_changes(server, http):
    clients = {
        name: connect(ws_url(server, token=name, room="a" if name in "xyz" else "b"))
        for name in ("x", "y", "z", "p", "q")
    }
    try:
        clients["x"].send(json.dumps({"action": "say", "text": "hi a"}))
        own = [json.loads(clients["x"].recv(timeout=5)) for _ in range(2)]  # the broadcast and the reply
        assert sorted(own, key=str) == sorted([{"from": "x", "text": "hi a"}, {"delivered": 3}], key=str)
        for name in ("y", "z"):
            assert json.loads(clients[name].recv(timeout=5)) == {"from": "x", "text": "hi a"}
        for name in ("p", "q"):
            with pytest.raises(TimeoutError):
                clients[name].recv(timeout=0.3)
        assert ask(clients["p"], {"action": "join", "room": "a"}) == {"joined": "a"}
        room_a = {c["data"]["user"] for c in http.get("/connections", params={"room": "a"}).json()["items"]}
        assert room_a == {"x", "y", "z", "p"}
    finally:
        for ws in clients.values():
            ws.close()


def test_disconnect_cleans_up_and_stale_ids_get_410(server, http):
    ws = connect(ws_url(server, token="dee"))
    cid = my_id(http, "dee")
    assert http.post(f"/push/{cid}", content="hello").status_code == 200
    assert ws.recv(timeout=5) == "hello"
    info = http.get(f"/_strato/ws/live/@connections/{cid}", headers=server.secret_headers).json()
    assert info["Identity"]["SourceIp"] == "127.0.0.1" and info["ConnectedAt"].endswith("Z")
    ws.close(code=4000, reason="bye")
    assert wait_until(lambda: http.get(f"/log/{cid}").status_code == 200, 5)
    assert http.get(f"/log/{cid}").json()["code"] == 4000
    assert "dee" not in {c["data"]["user"] for c in http.get("/connections").json()["items"]}
    response = http.post(f"/push/{cid}", content="anyone?")
    assert response.status_code == 410 and response.json()["code"] == "GoneException"
    assert (
        http.post(f"/_strato/ws/live/@connections/{cid}", content=b"x", headers=server.secret_headers).status_code
        == 410
    )
    assert http.get(f"/_strato/ws/live/@connections/{cid}", headers=server.secret_headers).status_code == 410


def test_server_side_close(server, http):
    ws = connect(ws_url(server, token="eve"))
    cid = my_id(http, "eve")
    assert http.delete(f"/connections/{cid}").status_code == 204
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)
    assert http.post(f"/push/{cid}", content="x").status_code == 410


def test_frame_and_message_size_limits(server):
    with connect(ws_url(server, token="fay"), max_size=None) as ws:
        fragments = ["a" * 25_000] * 4  # a 100 KB message in 25 KB frames: allowed
        ws.send(fragments)
        assert json.loads(ws.recv(timeout=5))["size"] == 100_000
        with pytest.raises(ConnectionClosed) as closed:  # the close may overtake the send (TCP_NODELAY)
            ws.send("b" * (33 * 1024))  # one frame over 32 KB
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1009
    with connect(ws_url(server, token="gus"), max_size=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(["c" * 30_000] * 5)  # 150 KB over frames of 30 KB: the message is too big
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1009


def test_another_process_posts_through_the_management_endpoint(server, http, tmp_path):
    with connect(ws_url(server, token="hal")) as ws:
        cid = my_id(http, "hal")
        data_dir = Path(json.loads(http.get("/_strato/health").text).get("data_dir", ""))
        script = (
            f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from strato.loader import load_app\n"
            f"app = load_app({str(ROOT / APP)!r})\n"
            "live = app.resources[('websocket', 'live')]\n"
            f"live.send({cid!r}, {{'from': 'another process'}})\n"
            f"print(live.broadcast('to all', to=[{cid!r}, 'Z29uZQ==']))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "STRATO_DATA_DIR": str(data_dir), "STRATO_PROVIDER": "local"},
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "1"
        assert json.loads(ws.recv(timeout=5)) == {"from": "another process"}
        assert ws.recv(timeout=5) == "to all"


@pytest.fixture
def short_server(dev_server):
    return dev_server(APP, env={"TEST_WS_IDLE": "1", "TEST_WS_MAX": "2.5"})


def test_idle_timeout_and_maximum_duration_close_with_1001(short_server):
    with httpx.Client(base_url=short_server.url, timeout=10) as http:
        idle = connect(ws_url(short_server, token="ida"))
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            idle.recv(timeout=5)
        assert closed.value.rcvd.code == 1001 and 0.8 < time.monotonic() - started < 3
        busy = connect(ws_url(short_server, token="bea"))
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() - started < 6:
                busy.send("keepalive")
                busy.recv(timeout=1)
                time.sleep(0.2)
        assert closed.value.rcvd.code == 1001 and 2.0 < time.monotonic() - started < 4.5
        assert wait_until(lambda: http.get("/connections").json()["items"] == [], 5)
