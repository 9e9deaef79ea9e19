"""Lambda events as AWS shapes them: what the entry point runs, skips or refuses, and how it reads them.

Each test cites the AWS page the event shape comes from.
"""

from __future__ import annotations

import json
import logging

import pytest

import strato
from strato.events import kind_of
from strato.events.apigw_http import http_event
from tests.test_auth import signed_up


def sns_event(topic, attributes: dict) -> dict:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic.arn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": topic.arn,
                    "Subject": "example subject",
                    "Message": "example message",
                    "Timestamp": "1970-01-01T00:00:00.000Z",
                    "MessageAttributes": attributes,
                },
            }
        ]
    }


# -- SNS ----------------------------------------------------------------------------------------------
def test_an_sns_binary_attribute_that_is_not_base64_is_left_out_not_fatal(make_app, caplog):
    """The SNS event example in the Lambda guide carries ``"TestBinary": {"Type": "Binary", "Value":
    "TestBinary"}`` -- not valid base64. The handler still runs: valid attributes are decoded, the bad
    one is left out with a warning naming it.
    https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html"""
    app = make_app()
    events = app.topic("events")
    seen = []
    events.subscribe()(lambda note: seen.append(note))
    attributes = {
        "Test": {"Type": "String", "Value": "TestString"},
        "TestBinary": {"Type": "Binary", "Value": "TestBinary"},
        "Good": {"Type": "Binary", "Value": "AAE="},
        "Count": {"Type": "Number", "Value": "3"},
    }
    with caplog.at_level(logging.WARNING, logger="strato.topic"):
        assert app.lambda_handler(sns_event(events, attributes), None) is None
    assert len(seen) == 1
    assert seen[0].body == "example message"
    assert seen[0].attributes == {"Test": "TestString", "Good": b"\x00\x01", "Count": 3}
    assert "'TestBinary'" in caplog.text and "base64" in caplog.text


# -- DynamoDB Streams ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:dynamodb:us-east-1:123456789012:table/ExampleTableWithStream",  # a table, not its stream
        "not-an-arn",
        "",
        None,
    ],
)
def test_a_stream_record_with_a_malformed_source_arn_is_a_clear_error(make_app, arn):
    """A stream record's ``eventSourceARN`` is the stream's:
    ``arn:aws:dynamodb:us-east-1:123456789012:table/ExampleTableWithStream/stream/2015-06-27T00:48:05.899``.
    Anything else names the ARN in a ValidationError, not an IndexError.
    https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html"""
    app = make_app()
    table = app.table("notes", key="id")
    table.on_change()(lambda change: None)
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"id": {"S": "1"}}, "SequenceNumber": "111", "StreamViewType": "KEYS_ONLY"},
        "eventSourceARN": arn,
    }
    with pytest.raises(strato.ValidationError, match="eventSourceARN") as raised:
        app.lambda_handler({"Records": [record]}, None)
    assert repr(arn) in str(raised.value)


# -- S3 -----------------------------------------------------------------------------------------------
S3_OTHER_EVENTS = [
    "ObjectRestore:Post",
    "ObjectRestore:Completed",
    "ObjectRestore:Delete",
    "IntelligentTiering",
    "LifecycleTransition",
    "Replication:OperationFailedReplication",
    "Replication:OperationMissedThreshold",
    "ObjectTagging:Put",
    "ObjectTagging:Delete",
    "ObjectAcl:Put",
    "ReducedRedundancyLostObject",
]


def s3_event(bucket: str, name: str) -> dict:
    from strato.events.s3 import s3_record

    return {"Records": [s3_record(name, bucket, "docs/a.txt", 3, "etag", "us-east-1")]}


@pytest.mark.parametrize("name", S3_OTHER_EVENTS)
def test_s3_events_other_than_created_and_removed_run_no_watcher(make_app, name):
    """S3 sends many event types besides ObjectCreated / ObjectRemoved / LifecycleExpiration; none of
    them means the object was deleted, so a ``deleted`` (or ``created``) watcher does not run.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html"""
    app = make_app()
    files = app.bucket("files")
    seen = []
    files.on_change(events=["deleted"])(lambda change: seen.append(change))
    files.on_change(events=["created"])(lambda change: seen.append(change))
    app.lambda_handler(s3_event(files.physical_name, name), None)
    assert seen == []


@pytest.mark.parametrize(
    "name,kind",
    [
        ("ObjectCreated:Put", "created"),
        ("ObjectCreated:CompleteMultipartUpload", "created"),
        ("ObjectRemoved:Delete", "deleted"),
        ("ObjectRemoved:DeleteMarkerCreated", "deleted"),
        ("LifecycleExpiration:Delete", "deleted"),
        ("LifecycleExpiration:DeleteMarkerCreated", "deleted"),
    ],
)
def test_s3_created_and_removed_events_reach_their_watchers(make_app, name, kind):
    """https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html"""
    app = make_app()
    files = app.bucket("files")
    seen = []
    files.on_change(events=[kind])(lambda change: seen.append(change.kind))
    app.lambda_handler(s3_event(files.physical_name, name), None)
    assert seen == [kind]


# -- API Gateway HTTP API -----------------------------------------------------------------------------
def authorizer_request_v2() -> dict:
    """The payload 2.0 Lambda authorizer request of the API Gateway guide (trimmed)."""
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request",
        "identitySource": ["user1", "123"],
        "routeKey": "$default",
        "rawPath": "/my/path",
        "rawQueryString": "parameter1=value1",
        "cookies": ["cookie1", "cookie2"],
        "headers": {"header1": "value1", "header2": "value2"},
        "queryStringParameters": {"parameter1": "value1"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            "http": {
                "method": "POST",
                "path": "/my/path",
                "protocol": "HTTP/1.1",
                "sourceIp": "IP",
                "userAgent": "agent",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "pathParameters": {"parameter1": "value1"},
        "stageVariables": {"stageVariable1": "value1"},
    }


def authorizer_request_v1() -> dict:
    """The payload 1.0 Lambda authorizer request (the REST API REQUEST authorizer shape, methodArn)."""
    return {
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request",
        "identitySource": "user1,123",
        "authorizationToken": "user1,123",
        "resource": "/request",
        "path": "/request",
        "httpMethod": "GET",
        "headers": {"Header1": "value1"},
        "queryStringParameters": {"parameter1": "value1"},
        "requestContext": {"accountId": "123456789012", "httpMethod": "GET", "stage": "test", "requestId": "id"},
    }


@pytest.mark.parametrize(
    "event,arn_key",
    [
        (authorizer_request_v2(), "routeArn"),
        (authorizer_request_v1(), "methodArn"),
        (
            {
                "type": "TOKEN",
                "authorizationToken": "allow",
                "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request",
            },
            "methodArn",
        ),
    ],
)
def test_a_lambda_authorizer_request_is_refused_never_run_as_a_route(make_app, event, arn_key):
    """A Lambda authorizer request (payload 2.0 has ``type: REQUEST``, ``routeArn`` and the same
    ``requestContext.http`` a route event has; 1.0 and REST use ``methodArn``) is not a request to
    route: it is refused with a ConfigurationError saying what it is, and no handler runs.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html"""
    app = make_app()
    api = app.http()
    ran = []

    @api.post("/my/path")
    def post(req):
        ran.append(req)
        return {"ok": True}

    @api.get("/request")
    def get(req):
        ran.append(req)
        return {"ok": True}

    assert kind_of(event) == "http_authorizer"
    with pytest.raises(strato.ConfigurationError, match="Lambda authorizer request") as raised:
        app.lambda_handler(event, None)
    assert event[arn_key] in str(raised.value)
    assert ran == []


def test_a_websocket_connect_authorizer_request_is_still_the_websocket_one():
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/prod/$connect",
        "requestContext": {"eventType": "CONNECT", "connectionId": "x", "routeKey": "$connect"},
    }
    assert kind_of(event) == "ws_authorizer"


def hand_built(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> dict:
    event = http_event(
        method=method,
        raw_path=path,
        raw_query="",
        headers=[],
        body=body,
        source_ip="127.0.0.1",
        route_key="$default",
        path_parameters=None,
        domain="localhost",
    )
    event["headers"] = dict(headers)  # as another gateway or a hand-written test event spells them
    return event


def test_request_headers_ignore_the_case_the_event_carries(make_app):
    """API Gateway lower-cases header names in payload 2.0, but HTTP header names are case-insensitive
    and an event built by hand may carry ``Content-Type``.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html"""
    app = make_app()
    api = app.http()

    @api.post("/echo")
    def echo(req):
        return {
            "type": req.headers.get("content-type"),
            "TYPE": req.headers["CONTENT-TYPE"],
            "has": "X-Trace" in req.headers,
            "names": sorted(req.headers),
            "json": req.json(),
        }

    event = hand_built("POST", "/echo", {"Content-Type": "application/json", "x-trace": "1"}, b'{"a": 1}')
    out = app.lambda_handler(event, None)
    assert out["statusCode"] == 200, out
    assert json.loads(out["body"]) == {
        "type": "application/json",
        "TYPE": "application/json",
        "has": True,
        "names": ["content-type", "x-trace"],
        "json": {"a": 1},
    }


def test_cors_reads_origin_and_preflight_headers_in_any_case(make_app):
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html"""
    app = make_app()
    api = app.http(cors=strato.Cors(allow_origins=["https://a.example"]))

    @api.get("/items")
    def items(req):
        return {"items": []}

    preflight = hand_built("OPTIONS", "/items", {"Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
    out = app.lambda_handler(preflight, None)
    assert out["statusCode"] == 204
    assert out["headers"]["access-control-allow-origin"] == "https://a.example"
    plain = app.lambda_handler(hand_built("GET", "/items", {"ORIGIN": "https://a.example"}), None)
    assert plain["statusCode"] == 200
    assert plain["headers"]["access-control-allow-origin"] == "https://a.example"


def test_the_jwt_authorizer_finds_authorization_in_any_case(make_app):
    """The JWT authorizer's identity source is ``$request.header.Authorization``; header names are
    case-insensitive. https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html"""
    app = make_app()
    pool = app.user_pool("users")
    api = app.http()

    @api.get("/me", auth=True)
    def me(req):
        return {"user": req.claims["username"]}

    tokens = signed_up(pool)
    for name in ("Authorization", "AUTHORIZATION", "authorization"):
        out = app.lambda_handler(hand_built("GET", "/me", {name: f"Bearer {tokens.access_token}"}), None)
        assert out["statusCode"] == 200, (name, out)
        assert json.loads(out["body"]) == {"user": "alice"}
