"""``arn:aws:states:::lambda:invoke`` (and a Task whose Resource is a function ARN) run a strato task as
Step Functions invokes a Lambda function: the optimized integration's result (Payload, StatusCode,
ExecutedVersion, SdkHttpMetadata, SdkResponseMetadata), a function error named by the exception's type
with Lambda's error document as the cause, and ``Lambda.*`` errors for what Lambda itself refuses.

FunctionName names the task: its name, ``${Name}``, the deployed function's name (``<app>-<stage>-...-<task>``)
or that function's ARN (a qualifier ``:alias`` is accepted and reported as ExecutedVersion ``$LATEST``)."""

from __future__ import annotations

import json
import re
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from ..core.errors import ConfigurationError
from .errors import StatesError

INVOKE = "lambda:invoke"
PARAMETERS = ("FunctionName", "Payload", "InvocationType", "Qualifier", "ClientContext", "LogType")
_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(?::([A-Za-z0-9$_-]+))?$")
_SUBSTITUTION = re.compile(r"^\$\{([A-Za-z0-9_.-]+)\}$")
Find = Callable[[str], "Callable[..., Any] | None"]


def is_function_arn(resource: str) -> bool:
    return bool(_ARN.match(resource))


def function(given: Any, find: Find, prefix: str) -> Callable[..., Any] | None:
    """The task a FunctionName names (None: no such function)."""
    if not isinstance(given, str) or not given:
        return None
    name = given
    if match := (_ARN.match(given) or _SUBSTITUTION.match(given)):
        name = match.group(1)
    elif ":" in given:  # a partial ARN ("123456789012:function:name") or name:qualifier
        name = given.split(":function:")[-1].split(":")[0]
    found = find(name)
    if found is None and prefix and name.startswith(prefix):
        rest = name[len(prefix) :]
        found = find(rest)
        for part in range(1, rest.count("-") + 1):
            found = found or find(rest.split("-", part)[-1])
    return found


def check(name: str, state: dict[str, Any]) -> None:
    """At declaration: FunctionName given, known Parameters, a known InvocationType."""
    from .integrations import check_fields

    given = check_fields(name, INVOKE, state.get("Parameters"), PARAMETERS[:1], PARAMETERS[1:])
    kind = given.get("InvocationType")
    if isinstance(kind, str) and kind not in ("RequestResponse", "Event", "DryRun"):
        raise ConfigurationError(f"state {name!r}: InvocationType must be RequestResponse, Event or DryRun")


def handler(find: Find, prefix: str) -> Callable[[Any, Any], Any]:
    """The optimized integration: Parameters in, Lambda's Invoke response (Payload parsed) out."""

    def call(params: Any, context: Any) -> Any:
        params = params if isinstance(params, dict) else {}
        fn = function(params.get("FunctionName"), find, prefix)
        if fn is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {params.get('FunctionName')!r} (no task of this app has that name)",
            )
        kind = params.get("InvocationType", "RequestResponse")
        request_id = str(uuid.uuid4())
        payload = params.get("Payload")
        if isinstance(payload, str):  # a string Payload is the JSON document Lambda receives
            try:
                payload = json.loads(payload)
            except ValueError:
                raise StatesError(
                    "Lambda.InvalidRequestContentException", "Could not parse request body into json"
                ) from None
        if kind == "DryRun":
            return _response(None, 204, request_id, "")
        try:
            result = invoke(fn, payload, context, request_id)
        except StatesError:
            if kind == "Event":  # an asynchronous invocation's failure is not the caller's
                return _response(None, 202, request_id, "")
            raise
        return _response(result, 202 if kind == "Event" else 200, request_id, "" if kind == "Event" else None)

    return call


def direct(fn: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    """A Task whose Resource is the function's ARN: the input is the event, the result is what it returns."""

    def call(data: Any, context: Any) -> Any:
        return invoke(fn, data, context, str(uuid.uuid4()))

    return call


def invoke(fn: Callable[..., Any], event: Any, context: Any, request_id: str) -> Any:
    """Run the task as Lambda runs a Python function; its exception as Step Functions reports it."""
    code = getattr(fn, "__code__", None)
    try:
        return fn(event, context) if code is not None and code.co_argcount >= 2 else fn(event)
    except StatesError:
        raise
    except MemoryError as exc:  # out of memory: "unhandled" in Lambda's words
        raise StatesError("Lambda.Unknown", f"The function ran out of memory: {exc}") from None
    except Exception as exc:
        document = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_tb(exc.__traceback__)[1:],
        }
        raise StatesError(type(exc).__name__, json.dumps(document)) from None


def _response(payload: Any, status: int, request_id: str, raw: str | None) -> dict[str, Any]:
    body = raw if raw is not None else json.dumps(payload, separators=(",", ":"))
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body.encode())),
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-RequestId": request_id,
    }
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload if raw is None else raw,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": status,
    }


__all__ = ["INVOKE", "check", "direct", "function", "handler", "invoke", "is_function_arn"]
