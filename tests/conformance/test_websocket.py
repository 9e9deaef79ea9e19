"""The WebSocket contract both providers share, driven by API Gateway WebSocket events.

Live sockets are exercised against `strato dev` in tests/test_websocket.py; the management API on
AWS against moto and botocore's Stubber in tests/test_websocket_aws.py.
"""

from __future__ import annotations

import pytest

import strato
from strato import HTTPError
from strato.websocket import CAPABILITIES, MESSAGE_LIMIT
from tests.conformance.absence import assert_absent, double_cases, lacking
from tests.test_websocket_aws import _event


@pytest.fixture(params=["local", "aws"])
def app(request, make_app, monkeypatch):
    monkeypatch.setenv("STRATO_WEBSOCKET_LIVE_ENDPOINT", "https://abc123.execute-api.us-east-1.amazonaws.com/prod")
    return make_app(request.param)


@pytest.fixture
def live(app):
    live = app.websocket("live", index=["user", "room"])

    @live.on_connect
    def connect(conn):
        if conn.query.get("token") != "ok":
            raise HTTPError(403, "Forbidden")
        conn.data.update(user=conn.query.get("user", "anon"), room="lobby", ip=conn.source_ip)

    @live.route("echo")
    def echo(msg):
        return {"echo": msg.json(), "user": msg.connection.data["user"]}

    live.on_message(lambda msg: b"\x00binary reply")
    return live


def connect(app, cid: str, **query: str) -> dict:
    return app.lambda_handler(
        _event("$connect", "CONNECT", cid, headers={"Host": "h"}, queryStringParameters={"token": "ok", **query}), None
    )


def test_connect_accepts_rejects_and_registers(app, live):
    rejected = app.lambda_handler(_event("$connect", "CONNECT", "c0", headers={}, queryStringParameters={}), None)
    assert rejected["statusCode"] == 403
    assert live.connections() == []
    assert connect(app, "c1", user="ana") == {"statusCode": 200}
    info = live.info("c1")
    assert info.data == {"user": "ana", "room": "lobby", "ip": "192.0.2.1"} and info.source_ip == "192.0.2.1"
    assert info.connected_at > 0


def test_routes_and_two_way_replies(app, live):
    connect(app, "c1", user="ana")
    reply = app.lambda_handler(_event("echo", "MESSAGE", "c1", body='{"action":"echo","n":1}'), None)
    assert reply == {
        "statusCode": 200,
        "body": '{"echo":{"action":"echo","n":1},"user":"ana"}',
        "isBase64Encoded": False,
    }
    binary = app.lambda_handler(_event("$default", "MESSAGE", "c1", body="AAE=", isBase64Encoded=True), None)
    assert binary["isBase64Encoded"] is True and binary["body"] == "AGJpbmFyeSByZXBseQ=="


def test_lookups_by_index_and_updates(app, live):
    for cid, user in (("c1", "ana"), ("c2", "bo"), ("c3", "ana")):
        connect(app, cid, user=user)
    assert sorted(c.id for c in live.connections(where={"user": "ana"})) == ["c1", "c3"]
    live.update("c2", room="kitchen")
    assert [c.id for c in live.connections(where={"room": "kitchen"})] == ["c2"]
    assert sorted(c.id for c in live.connections(where={"room": "lobby", "user": "ana"})) == ["c1", "c3"]
    with pytest.raises(strato.ValidationError, match="index"):
        live.connections(where={"ip": "1.2.3.4"})
    with pytest.raises(strato.GoneError):
        live.update("nobody", room="x")


def test_disconnect_removes_the_connection(app, live):
    connect(app, "c1")
    assert app.lambda_handler(_event("$disconnect", "DISCONNECT", "c1", headers={}), None) == {"statusCode": 200}
    assert live.connections() == []
    with pytest.raises(strato.GoneError):
        live.info("c1")


def test_bad_sends_fail_before_any_network_call(app, live):
    with pytest.raises(strato.ItemTooLarge):
        live.send("c1", "x" * (MESSAGE_LIMIT + 1))
    with pytest.raises(strato.ValidationError):
        live.send("", "x")
    with pytest.raises(strato.ValidationError):
        live.send("c1", {"not": object()})
    with pytest.raises(strato.ValidationError):
        live.broadcast("x", to=["a"], where={"user": "b"})


def test_bad_declarations(app):
    with pytest.raises(strato.ConfigurationError):
        app.websocket("a", index=["id"])
    with pytest.raises(strato.ConfigurationError):
        app.websocket("b", idle_timeout=601)
    with pytest.raises(strato.ConfigurationError):
        app.websocket("c", route_selection="$request.header.x")
    ws = app.websocket("d")
    with pytest.raises(strato.ConfigurationError):
        ws.route("$custom")
    ws.route("x")(lambda m: None)
    with pytest.raises(strato.ConfigurationError, match="two handlers"):
        ws.route("x")(lambda m: None)


#: one use of each capability, on connection "c1"
USES = {
    "send": lambda ws: ws.send("c1", "hi"),
    "broadcast": lambda ws: ws.broadcast("hi", to=["c1"]),
    "info": lambda ws: ws.info("c1"),
    "close": lambda ws: ws.close("c1"),
    "binary": lambda ws: ws.send("c1", b"\x00raw"),
}
#: other places the same capabilities are used
ALSO = [("info", lambda ws: ws.connections()), ("binary", lambda ws: ws.broadcast(b"\x00raw", to=["c1"]))]


def _state(ws):
    return sorted((c.id, c.data) for c in ws.registry.find(None))


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(app, live):
    connect(app, "c1", user="ann")
    assert live.capabilities == CAPABILITIES  # each exercised above
    assert_absent(live, USES, state=_state, also=ALSO)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_changes_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "websocket", missing, CAPABILITIES)
    app = make_app("local")
    live = app.websocket("live", index=["user"])
    live.on_connect(lambda conn: conn.data.update(user=conn.query["user"]))
    connect(app, "c1", user="ann")
    assert assert_absent(live, USES, state=_state, also=ALSO) == lacks
    assert [c.data for c in live.registry.find(None)] == [{"user": "ann"}]


def test_capabilities(live):
    assert live.capabilities == CAPABILITIES
