"""AWS event shapes: building them locally exactly as AWS delivers them to Lambda.

The dev server calls these to turn an HTTP request into the API Gateway HTTP API payload 2.0
event that the Lambda entry point would receive, so both run the same dispatcher.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT_ID = "123456789012"
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "+json",
    "+xml",
)


def _is_text(content_type: str, body: bytes) -> bool:
    if not body:
        return True
    if not any(t in content_type for t in _TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clf_time(epoch: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))


def http_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    route_key: str,
    path_parameters: dict[str, str] | None,
    domain: str,
    api_id: str = "local",
    stage: str = "$default",
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = time.time()
    text = _is_text(merged.get("content-type", ""), body)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0].split(":")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": os.urandom(8).hex(),
            "routeKey": route_key,
            "stage": stage,
            "time": clf_time(now),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        event["body"] = body.decode("utf-8") if text else base64.b64encode(body).decode()
    return event


class LocalContext:
    """The Lambda context object, as far as a local invocation can fill it in."""

    def __init__(self, function_name: str = "strato-local", timeout_s: float = 29.0, memory_mb: int = 1024) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        raw = os.urandom(16).hex()
        self.aws_request_id = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:{ACCOUNT_ID}:function:{function_name}"
        )
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + os.urandom(16).hex()
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def kind_of(event: Any) -> str:
    """Which AWS service sent this event: http | websocket | ws_authorizer | sqs | sns | dynamodb | schedule | s3."""
    if not isinstance(event, dict):
        return "unknown"
    context = event.get("requestContext") or {}
    if event.get("version") == "2.0" and "http" in context:
        return "http"
    if event.get("type") == "REQUEST" and "methodArn" in event and context.get("eventType") == "CONNECT":
        return "ws_authorizer"
    if "eventType" in context and "connectionId" in context:
        return "websocket"
    records = event.get("Records")
    if records and isinstance(records, list) and isinstance(records[0], dict):
        source = records[0].get("eventSource") or records[0].get("EventSource") or ""
        return {"aws:sqs": "sqs", "aws:sns": "sns", "aws:dynamodb": "dynamodb", "aws:s3": "s3"}.get(source, "unknown")
    if event.get("source") in ("aws.scheduler", "aws.events") and event.get("detail-type") == "Scheduled Event":
        return "schedule"
    return "unknown"


def ws_context(
    *,
    route: str,
    event_type: str,
    connection_id: str,
    connected_at: int,
    domain: str,
    stage: str,
    api_id: str,
    source_ip: str,
    user_agent: str,
) -> dict[str, Any]:
    now = time.time()
    context = {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": os.urandom(8).hex(),
        "requestTime": clf_time(now),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "requestId": os.urandom(8).hex(),
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": api_id,
    }
    if event_type == "MESSAGE":
        context["messageId"] = os.urandom(8).hex()
    return context


def ws_connect_event(context: dict[str, Any], headers: list[tuple[str, str]], raw_query: str) -> dict[str, Any]:
    """An API Gateway WebSocket $connect event."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    event: dict[str, Any] = {
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    if pairs:
        event["queryStringParameters"] = dict(pairs)
        grouped: dict[str, list[str]] = {}
        for name, value in pairs:
            grouped.setdefault(name, []).append(value)
        event["multiValueQueryStringParameters"] = grouped
    return event


def ws_message_event(context: dict[str, Any], data: str | bytes) -> dict[str, Any]:
    """An API Gateway WebSocket MESSAGE event; binary frames arrive base64-encoded."""
    if isinstance(data, bytes):
        return {"requestContext": context, "body": base64.b64encode(data).decode(), "isBase64Encoded": True}
    return {"requestContext": context, "body": data, "isBase64Encoded": False}


def ws_disconnect_event(
    context: dict[str, Any], headers: list[tuple[str, str]], code: int, reason: str
) -> dict[str, Any]:
    context = {**context, "disconnectStatusCode": code, "disconnectReason": reason}
    return {
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers},
        "requestContext": context,
        "isBase64Encoded": False,
    }
