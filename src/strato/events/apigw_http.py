"""API Gateway HTTP API (payload 2.0) events: what the dev server builds from a real HTTP request."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from ..core import clock
from ..core.random_hex import hex16
from . import ACCOUNT_ID

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


_last_clf: tuple[int, str] = (-1, "")


def clf_time(epoch: float) -> str:
    """``requestContext.time``: formatted once per second, not once per request."""
    global _last_clf
    second = int(epoch)
    if _last_clf[0] != second:
        _last_clf = (second, time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second)))
    return _last_clf[1]


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
    for name, value in parse_qsl(raw_query, keep_blank_values=True) if raw_query else ():
        query[name] = f"{query[name]},{value}" if name in query else value
    now = clock.now()
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
            "requestId": hex16(),
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
