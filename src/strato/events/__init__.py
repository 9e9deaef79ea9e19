"""AWS event sources: one module per source, each holding the local builder of its events (exactly as
AWS delivers them to Lambda) and the typed read view handlers get (Powertools style).

This package imports nothing of strato but ``core``, so the dev server, the worker and the Lambda
entry point can all share it.
"""

from __future__ import annotations

import os
import time

from ..core.config import region

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from typing import Any

ACCOUNT_ID = "123456789012"
__all__ = ["ACCOUNT_ID", "LocalContext", "kind_of", "region"]


class LocalContext:
    """The Lambda context object, as far as a local invocation can fill it in.

    Built once per request on the dev server's hot path, so only the deadline is set up front; the
    request id (random, unique per context), the ARN and the log names are made the first time they are
    read, then kept as plain attributes."""

    def __init__(self, function_name: str = "strato-local", timeout_s: float = 29.0, memory_mb: int = 1024) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self._deadline = time.monotonic() + timeout_s

    def __getattr__(self, name: str) -> str:  # only for attributes not set yet
        if name == "aws_request_id":
            raw = os.urandom(16).hex()
            value = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
        elif name == "invoked_function_arn":
            region = os.environ.get("AWS_REGION", "us-east-1")
            value = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.function_name}"
        elif name == "log_group_name":
            value = f"/aws/lambda/{self.function_name}"
        elif name == "log_stream_name":
            value = time.strftime("%Y/%m/%d/[$LATEST]") + os.urandom(16).hex()
        else:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        setattr(self, name, value)
        return value

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def kind_of(event: Any) -> str:
    """Which AWS service sent this event: http | http_authorizer | websocket | ws_authorizer | sqs | sns |
    dynamodb | schedule | s3.

    An API Gateway Lambda authorizer request (``type`` REQUEST or TOKEN with a ``routeArn``, payload
    2.0, or a ``methodArn``, payload 1.0 and REST APIs) is told apart before the route check: a 2.0
    authorizer request carries ``requestContext.http`` too, and must never run as a route."""
    if not isinstance(event, dict):
        return "unknown"
    context = event.get("requestContext") or {}
    if event.get("type") in ("REQUEST", "TOKEN") and ("routeArn" in event or "methodArn" in event):
        return "ws_authorizer" if context.get("eventType") == "CONNECT" else "http_authorizer"
    if event.get("version") == "2.0" and "http" in context:
        return "http"
    if "eventType" in context and "connectionId" in context:
        return "websocket"
    records = event.get("Records")
    if records and isinstance(records, list) and isinstance(records[0], dict):
        source = records[0].get("eventSource") or records[0].get("EventSource") or ""
        return {"aws:sqs": "sqs", "aws:sns": "sns", "aws:dynamodb": "dynamodb", "aws:s3": "s3"}.get(source, "unknown")
    if event.get("source") in ("aws.scheduler", "aws.events") and event.get("detail-type") == "Scheduled Event":
        return "schedule"
    return "unknown"
