"""The AWS WebSocket provider, the Lambda path for WebSocket events, and the registry on DynamoDB.

moto_server implements apigatewaymanagementapi loosely (it accepts any connection id and never
answers 410), so GoneException and payload errors are tested with botocore's Stubber on the
requests strato builds; the happy paths run against moto.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

import strato
from strato import HTTPError


@pytest.fixture
def aws_app(make_app, monkeypatch):
    monkeypatch.setenv("STRATO_WEBSOCKET_LIVE_ENDPOINT", "https://abc123.execute-api.us-east-1.amazonaws.com/prod")
    return make_app("aws")


def _event(route: str, event_type: str, cid: str = "L0SM9cOFvHcCIhw=", **extra):
    """WebSocket events as API Gateway sends them to Lambda (shapes from the API Gateway guide)."""
    context = {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": "L0SM9GW1vHcF8Aw=",
        "requestTime": "09/Feb/2019:11:11:11 +0000",
        "messageDirection": "IN",
        "stage": "prod",
        "connectedAt": 1549710671138,
        "requestTimeEpoch": 1549710671147,
        "identity": {"sourceIp": "192.0.2.1", "userAgent": "wscat"},
        "requestId": "L0SM9GW1vHcF8Aw=",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "connectionId": cid,
        "apiId": "abc123",
    }
    if event_type == "MESSAGE":
        context["messageId"] = "L0SM9eOHvHcCJ-A="
    return {"requestContext": context, "isBase64Encoded": False, **extra}


def test_lambda_path_connect_message_disconnect_with_registry_on_dynamodb(aws_app):
    live = aws_app.websocket("live", index=["user"])
    seen = []

    @live.on_connect
    def connect(conn):
        if conn.query.get("token") != "t0k":
            raise HTTPError(401, "Unauthorized")
        conn.data["user"] = "ana"

    @live.route("hello")
    def hello(msg):
        seen.append(msg.connection.data["user"])
        return {"hi": msg.json()["name"]}

    live.on_disconnect(lambda msg: seen.append("bye"))
    rejected = aws_app.lambda_handler(
        _event("$connect", "CONNECT", headers={"Host": "x"}, queryStringParameters={"token": "nope"}), None
    )
    assert rejected == {"statusCode": 401, "body": "Unauthorized"}
    accepted = aws_app.lambda_handler(
        _event("$connect", "CONNECT", headers={"Host": "x"}, queryStringParameters={"token": "t0k"}), None
    )
    assert accepted == {"statusCode": 200}
    assert [c.id for c in live.connections(where={"user": "ana"})] == ["L0SM9cOFvHcCIhw="]
    reply = aws_app.lambda_handler(_event("hello", "MESSAGE", body='{"action":"hello","name":"bo"}'), None)
    assert reply == {"statusCode": 200, "body": '{"hi":"bo"}', "isBase64Encoded": False}
    assert aws_app.lambda_handler(_event("$disconnect", "DISCONNECT", headers={}), None) == {"statusCode": 200}
    assert seen == ["ana", "bye"] and live.connections() == []


def test_management_calls_against_moto(aws_app, moto_server):
    live = aws_app.websocket("live")
    live.send("L0SM9cOFvHcCIhw=", {"hello": "world"})
    assert live.broadcast("to many", to=["a1", "b2"]) == 2
    live.close("L0SM9cOFvHcCIhw=")


def test_gone_and_oversized_posts_are_mapped_with_stubber(aws_app, moto_server):
    live = aws_app.websocket("live")
    client = live.backend.client
    live.registry.add("gone-id", "1.2.3.4", "ua", {})
    with Stubber(client) as stub:
        stub.add_client_error(
            "post_to_connection",
            service_error_code="GoneException",
            http_status_code=410,
            expected_params={"ConnectionId": "gone-id", "Data": b'{"x":1}'},
        )
        with pytest.raises(strato.GoneError):
            live.send("gone-id", {"x": 1})
        stub.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410)
        stub.add_response("post_to_connection", {})
        assert live.broadcast("hi", to=["gone-id", "alive"]) == 1
        stub.add_client_error(
            "delete_connection",
            service_error_code="GoneException",
            http_status_code=410,
            expected_params={"ConnectionId": "gone-id"},
        )
        with pytest.raises(strato.GoneError):
            live.close("gone-id")
    assert live.registry.get("gone-id") is None  # a 410 removes the registry entry
    with pytest.raises(strato.ItemTooLarge):
        live.send("any", "x" * (128 * 1024 + 1))


def test_endpoint_is_learnt_from_the_event_or_required(make_app, monkeypatch, moto_server):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    app = make_app("aws")
    live = app.websocket("live")
    with pytest.raises(strato.ConfigurationError, match="ENDPOINT"):
        live.backend.client  # noqa: B018 - the property is the check
    live.backend.learn_endpoint(_event("$default", "MESSAGE"))
    assert live.backend.endpoint == "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    assert live.url == "wss://abc123.execute-api.us-east-1.amazonaws.com/prod"
    monkeypatch.setenv("STRATO_WEBSOCKET_CHAT_API_ID", "xyz789")
    chat = app.websocket("chat")
    assert chat.backend.endpoint == f"https://xyz789.execute-api.us-east-1.amazonaws.com/{app.config.stage}"
