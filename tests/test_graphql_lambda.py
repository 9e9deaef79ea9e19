"""GraphQL through ``app.lambda_handler`` with API Gateway events (what runs on AWS), bad input on the
HTTP side, and the graphql-transport-ws protocol message by message through the WebSocket dispatcher."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from urllib.parse import urlencode

import pytest
import strawberry

import strato
from strato.events.apigw_http import http_event
from strato.graphql import document_id, published
from strato.testing.websocket import Closed

APP = "tests/apps/graphql_app.py"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
def app(strato_app):
    return strato_app(APP)


@pytest.fixture
def token(client, app):
    return client.sign_in("ana")


def call(app, method: str, *, body: object = None, query: dict | None = None, headers: dict | None = None) -> tuple:
    raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    sent = {"content-type": "application/json", **(headers or {})}
    event = http_event(
        method=method,
        raw_path="/graphql",
        raw_query=urlencode(query or {}),
        headers=list(sent.items()),
        body=raw,
        source_ip="127.0.0.1",
        route_key=f"{method} /graphql",
        path_parameters={},
        domain="api.example.com",
    )
    out = app.lambda_handler(event)
    payload = json.loads(out["body"]) if out.get("body") else None
    return out["statusCode"], payload, {k.lower(): v for k, v in (out.get("headers") or {}).items()}


def auth(token: str, **more: str) -> dict:
    return {"authorization": f"Bearer {token}", **more}


def test_post_and_get_through_the_lambda_handler(app, token):
    status, body, headers = call(app, "POST", body={"query": "{ hello }"}, headers=auth(token))
    assert (status, body) == (200, {"data": {"hello": "hello world"}})
    assert headers["content-type"].startswith("application/json")
    status, body, _ = call(
        app,
        "GET",
        query={"query": "query($n: String) { hello(name: $n) }", "variables": '{"n": "x"}'},
        headers=auth(token),
    )
    assert (status, body) == (200, {"data": {"hello": "hello x"}})
    status, body, headers = call(
        app, "POST", body={"query": "{ whoami }"}, headers=auth(token, accept=GRAPHQL_RESPONSE)
    )
    assert status == 200 and body["data"]["whoami"] and headers["content-type"].startswith(GRAPHQL_RESPONSE)


def test_async_resolvers(app, token):
    status, body, _ = call(app, "POST", body={"query": "{ later hello }"}, headers=auth(token))
    assert (status, body) == (200, {"data": {"later": "async resolvers run too", "hello": "hello world"}})


def test_no_token_is_401_at_the_gateway(app):
    status, _, _ = call(app, "POST", body={"query": "{ hello }"})
    assert status == 401


@pytest.mark.parametrize(
    ("request_body", "json_status", "modern_status", "message"),
    [
        ({"query": "{ hello "}, 200, 400, "Syntax Error"),
        ({"query": "{ nope }"}, 200, 400, "Cannot query field 'nope'"),
        ({"query": "query($n: Int) { hello(name: $n) }", "variables": {"n": 1}}, 200, 400, "Variable '$n'"),
        (
            {"query": "query($n: String!) { hello(name: $n) }", "variables": {"n": 5}},
            200,
            400,
            "String cannot represent",
        ),
        (
            {"query": "{ nested " + "{ child " * 10 + "{ level" + " }" * 12},
            200,
            400,
            "depth of 12",
        ),
        ({"query": ""}, 400, 400, "no query"),
        ({"variables": {}}, 400, 400, "no query"),
        ({"query": "{ hello }", "variables": [1]}, 400, 400, "variables must be a JSON object"),
        ({"documentId": "abc"}, 400, 400, "PersistedQueryNotFound"),
        ({"query": "query A { hello } query B { hello }"}, 400, 400, "operationName"),
    ],
)
def test_bad_input_is_a_graphql_error_never_a_500(app, token, request_body, json_status, modern_status, message):
    status, body, _ = call(app, "POST", body=request_body, headers=auth(token))
    assert status == json_status, body
    assert message in json.dumps(body["errors"]), body
    assert "data" not in body  # a request error: nothing ran
    status, body, _ = call(app, "POST", body=request_body, headers=auth(token, accept=GRAPHQL_RESPONSE))
    assert status == modern_status and message in json.dumps(body["errors"])


def test_field_errors_keep_their_data_and_200(app, token):
    status, body, _ = call(app, "POST", body={"query": "{ hello boom }"}, headers=auth(token, accept=GRAPHQL_RESPONSE))
    assert status == 200 and "data" in body and body["data"] is None  # boom is non-null: the null reaches the root
    assert body["errors"][0]["message"] == "resolver failed" and body["errors"][0]["path"] == ["boom"]


def test_transport_errors(app, token):
    status, body, _ = call(app, "POST", body=b"{not json", headers=auth(token))
    assert status == 400 and "not JSON" in body["errors"][0]["message"]
    status, body, _ = call(app, "POST", body=b"query=1", headers=auth(token, **{"content-type": "text/plain"}))
    assert status == 415
    status, body, headers = call(
        app, "GET", query={"query": 'mutation { record(name: "a", value: 1) { name } }'}, headers=auth(token)
    )
    assert status == 405 and headers["allow"] == "POST"
    status, body, _ = call(app, "POST", body={"query": "{ hello }"}, headers=auth(token, accept="text/html"))
    assert status == 406
    status, body, _ = call(app, "GET", query={"query": "{ hello }", "variables": "{bad"}, headers=auth(token))
    assert status == 400 and "variables is not JSON" in body["errors"][0]["message"]


def test_an_oversized_document_is_refused_before_parsing(app, token, monkeypatch):
    import graphql

    import strato.graphql.engine as engine

    parsed = []
    monkeypatch.setattr(engine, "parse", lambda *a, **k: parsed.append(1) or graphql.parse(*a, **k))
    huge = "{ hello " + "# padding\n" * 4000 + "}"
    status, body, _ = call(app, "POST", body={"query": huge}, headers=auth(token))
    assert status == 413 and "over this API's limit" in body["errors"][0]["message"]
    assert parsed == []
    too_many_tokens = "{ " + " ".join(f"a{i}: hello" for i in range(1800)) + " }"
    status, body, _ = call(app, "POST", body={"query": too_many_tokens}, headers=auth(token))
    assert status == 200 and "tokens" in body["errors"][0]["message"]


def test_complexity_and_persisted_queries(strato_app, tmp_path):
    import strawberry

    import strato

    @strawberry.type
    class Query:
        @strawberry.field
        def a(self) -> int:
            return 1

        @strawberry.field
        def b(self) -> int:
            return 2

    app = strato.App("limits", data_dir=tmp_path)
    known = "{ a }"
    app.graphql(strawberry.Schema(query=Query), max_complexity=1, persisted_queries=[known], only_persisted=True)
    status, body, _ = call(app, "POST", body={"documentId": document_id(known)})
    assert (status, body) == (200, {"data": {"a": 1}})
    status, body, _ = call(
        app, "POST", body={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id(known)}}}
    )
    assert (status, body) == (200, {"data": {"a": 1}})
    status, body, _ = call(app, "POST", body={"query": "{ a b }"})
    assert status == 400 and "only runs persisted queries" in body["errors"][0]["message"]

    open_app = strato.App("limits2", data_dir=tmp_path / "2")
    open_app.graphql(strawberry.Schema(query=Query), max_complexity=1)
    status, body, _ = call(open_app, "POST", body={"query": "{ a b }"})
    assert status == 200 and "complexity of 2" in body["errors"][0]["message"]
    app.close()
    open_app.close()


# -- graphql-transport-ws, one message (one invocation) at a time ---------------------------------
SUBSCRIBE = {"query": "subscription($n: String) { metricUpdates(name: $n) { name value } }", "variables": {"n": "cpu"}}
PROTOCOL = {"sec-websocket-protocol": "graphql-transport-ws"}


def connected(client, token: str | None):
    socket = client.websocket("graphql", token="", headers=PROTOCOL)
    socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"} if token else {}})
    return socket


def test_the_protocol_through_the_dispatcher(client, app, token):
    graph = app.resources[("graphql", "graphql")]
    socket = connected(client, token)
    assert socket.receive_json() == {"type": "connection_ack"}
    socket.send({"type": "ping", "payload": {"n": 1}})
    assert socket.receive_json() == {"type": "pong", "payload": {"n": 1}}
    socket.send({"id": "q", "type": "subscribe", "payload": {"query": "{ hello }"}})
    assert socket.receive_json() == {"id": "q", "type": "next", "payload": {"data": {"hello": "hello world"}}}
    assert socket.receive_json() == {"id": "q", "type": "complete"}
    socket.send({"id": "bad", "type": "subscribe", "payload": {"query": "subscription { nope }"}})
    error = socket.receive_json()
    assert error["type"] == "error" and "nope" in error["payload"][0]["message"]
    wrong = {"query": SUBSCRIBE["query"], "variables": {"n": 5}}
    socket.send({"id": "w", "type": "subscribe", "payload": wrong})  # $n is a String: refused, not stored
    error = socket.receive_json()
    assert error["type"] == "error" and "String cannot represent" in error["payload"][0]["message"]
    socket.send({"id": "s1", "type": "subscribe", "payload": SUBSCRIBE})
    assert graph.publish("metricUpdates", {"name": "disk", "value": 1}) == 0  # filtered out by the resolver
    assert graph.publish("metricUpdates", {"name": "cpu", "value": 2}) == 1
    assert socket.receive_json() == {
        "id": "s1",
        "type": "next",
        "payload": {"data": {"metricUpdates": {"name": "cpu", "value": 2.0}}},
    }
    socket.send({"id": "s1", "type": "complete"})
    assert graph.publish("metricUpdates", {"name": "cpu", "value": 3}) == 0
    socket.send({"id": "s2", "type": "subscribe", "payload": SUBSCRIBE})
    socket.close()
    assert graph.subscriptions.of("metricUpdates") == []  # $disconnect took them away


def test_protocol_violations_close_the_connection(client, app, token):
    graph = app.resources[("graphql", "graphql")]
    early = client.websocket("graphql", token="", headers=PROTOCOL)
    early.send({"id": "1", "type": "subscribe", "payload": SUBSCRIBE})  # before connection_init
    with pytest.raises(Closed):
        early.receive()
    refused = connected(client, "not-a-token")
    with pytest.raises(Closed):
        refused.receive()
    twice = connected(client, token)
    assert twice.receive_json() == {"type": "connection_ack"}
    twice.send({"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
    twice.send({"id": "1", "type": "subscribe", "payload": SUBSCRIBE})  # 4409: that id is taken
    with pytest.raises(Closed):
        twice.receive()
    unknown = connected(client, token)
    unknown.receive_json()
    unknown.send({"type": "shout"})
    with pytest.raises(Closed):
        unknown.receive()
    assert graph.subscriptions.of("metricUpdates") == []


def test_the_subprotocol_is_chosen_and_others_refused(client, app, token):
    from strato.testing.websocket import Rejected

    with pytest.raises(Rejected):
        client.websocket("graphql", token="", headers={"sec-websocket-protocol": "graphql-ws"})
    event_token_connection = client.websocket("graphql", token=token, headers=PROTOCOL)  # ?token= on $connect
    event_token_connection.send({"type": "connection_init"})
    assert event_token_connection.receive_json() == {"type": "connection_ack"}


def test_publish_from_async_code(client, app, token):
    import asyncio

    graph = app.resources[("graphql", "graphql")]
    socket = connected(client, token)
    socket.receive_json()
    socket.send({"id": "a", "type": "subscribe", "payload": SUBSCRIBE})

    async def handler() -> tuple[int, int]:  # a running loop: publish waits on a helper thread's loop
        return graph.publish("metricUpdates", {"name": "cpu", "value": 1}), await graph.publish_async(
            "metricUpdates", {"name": "cpu", "value": 2}
        )

    assert asyncio.run(handler()) == (1, 1)
    assert [socket.receive_json()["payload"]["data"]["metricUpdates"]["value"] for _ in range(2)] == [1.0, 2.0]
    with pytest.raises(strato.ValidationError, match="not a subscription field"):
        graph.publish("nope", {})


RUNS: list[str] = []


@strawberry.type
class OneQuery:
    hello: str = "hi"


@strawberry.type
class TwoSubscriptions:
    @strawberry.subscription
    async def everyone(self, info: strawberry.Info) -> AsyncGenerator[int, None]:
        async for event in published(info):
            RUNS.append("everyone")
            yield event

    @strawberry.subscription
    async def mine(self, info: strawberry.Info) -> AsyncGenerator[str, None]:
        async for event in published(info):
            RUNS.append("mine")
            yield f"{event} for {info.context.user}"


def test_publish_runs_once_for_everyone_unless_a_resolver_reads_the_claims(tmp_path):
    from strato.testing import Client

    RUNS.clear()
    app = strato.App("perclaims", data_dir=tmp_path)
    app.user_pool()
    graph = app.graphql(strawberry.Schema(query=OneQuery, subscription=TwoSubscriptions), auth=True)
    client = Client(lambda: app)
    sockets = []
    for user in ("ana", "bob", "cy"):
        socket = connected(client, client.sign_in(user))
        assert socket.receive_json() == {"type": "connection_ack"}
        socket.send({"id": "1", "type": "subscribe", "payload": {"query": "subscription { everyone }"}})
        socket.send({"id": "2", "type": "subscribe", "payload": {"query": "subscription { mine }"}})
        sockets.append(socket)
    assert graph.publish("everyone", 7) == 3 and RUNS.count("everyone") == 1  # one run, three posts
    assert graph.publish("mine", "news") == 3 and RUNS.count("mine") == 3  # it reads the claims: one per user
    mine = set()
    for socket in sockets:
        assert socket.receive_json()["payload"] == {"data": {"everyone": 7}}
        mine.add(socket.receive_json()["payload"]["data"]["mine"])
    assert len(mine) == 3 and all(m.startswith("news for ") and m != "news for None" for m in mine)
    app.close()
