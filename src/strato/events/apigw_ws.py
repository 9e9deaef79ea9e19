"""API Gateway WebSocket events ($connect, messages, $disconnect) as the dev server's gateway builds them."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from ..core import clock
from ..core.random_hex import hex16
from .apigw_http import clf_time


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
    now = clock.now()
    context = {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": hex16(),
        "requestTime": clf_time(now),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "requestId": hex16(),
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": api_id,
    }
    if event_type == "MESSAGE":
        context["messageId"] = hex16()
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
