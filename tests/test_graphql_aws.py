"""GraphQL subscriptions on the AWS provider: the protocol's messages as API Gateway WebSocket events
through ``app.lambda_handler``, subscriptions in the registry on DynamoDB (moto_server), and publish
posting through ``apigatewaymanagementapi`` (botocore's Stubber checks what is posted: moto accepts any
post and never answers 410)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

import pytest
import strawberry
from botocore.stub import Stubber

from strato.graphql import published
from tests.test_websocket_aws import _event

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"


@strawberry.type
class Query:
    hello: str = "hi"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def news(self, info: strawberry.Info, topic: str) -> AsyncGenerator[str, None]:
        async for event in published(info):
            if event["topic"] == topic:
                yield event["text"]


@pytest.fixture
def graph(make_app, monkeypatch):
    monkeypatch.setenv("STRATO_WEBSOCKET_GRAPHQL_ENDPOINT", ENDPOINT)
    app = make_app("aws")
    graph = app.graphql(strawberry.Schema(query=Query, subscription=Subscription))
    app.ensure()
    return app, graph


def message(app, cid: str, body: dict) -> dict:
    return app.lambda_handler(_event(body["type"], "MESSAGE", cid=cid, body=json.dumps(body)), None)


def test_subscribe_publish_and_disconnect_on_dynamodb(graph):
    app, graph = graph
    connect = _event("$connect", "CONNECT", cid="c1", headers={"Sec-WebSocket-Protocol": "graphql-transport-ws"})
    assert app.lambda_handler(connect, None) == {
        "statusCode": 200,
        "headers": {"Sec-WebSocket-Protocol": "graphql-transport-ws"},
    }
    ack = message(app, "c1", {"type": "connection_init"})
    assert json.loads(ack["body"]) == {"type": "connection_ack"}
    query = "subscription($t: String!) { news(topic: $t) }"
    for operation_id, topic in (("a", "sport"), ("b", "weather")):
        payload = {"query": query, "variables": {"t": topic}}
        assert message(app, "c1", {"id": operation_id, "type": "subscribe", "payload": payload}) == {"statusCode": 200}
    assert len(graph.subscriptions.of("news")) == 2

    client = graph.websocket.backend.client
    with Stubber(client) as stub:
        stub.add_response(
            "post_to_connection",
            {},
            expected_params={
                "ConnectionId": "c1",
                "Data": b'{"id":"b","type":"next","payload":{"data":{"news":"rain"}}}',
            },
        )
        assert graph.publish("news", {"topic": "weather", "text": "rain"}) == 1
        stub.assert_no_pending_responses()
        stub.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410)
        assert graph.publish("news", {"topic": "sport", "text": "goal"}) == 0  # gone: dropped with its subscriptions
    assert graph.subscriptions.of("news") == []

    app.lambda_handler(_event("$connect", "CONNECT", cid="c2", headers={}), None)
    message(app, "c2", {"type": "connection_init"})
    message(app, "c2", {"id": "x", "type": "subscribe", "payload": {"query": query, "variables": {"t": "sport"}}})
    assert len(graph.subscriptions.of("news")) == 1
    assert app.lambda_handler(_event("$disconnect", "DISCONNECT", cid="c2", headers={}), None) == {"statusCode": 200}
    assert graph.subscriptions.of("news") == []
