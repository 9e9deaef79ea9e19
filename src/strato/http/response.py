"""What a handler may return, and how it becomes an API Gateway payload 2.0 response."""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from typing import Any

#: Lambda's limit on a synchronous response payload; API Gateway answers 500 past it.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024


class HTTPError(Exception):
    """Raise from a handler to answer with this status and a JSON ``{"message": ...}`` body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class Response:
    """An explicit response: status, body (dict/list -> JSON, str -> text, bytes -> binary), headers."""

    __slots__ = ("body", "cookies", "headers", "status")

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = {k.lower(): str(v) for k, v in headers.items()} if headers else {}
        if content_type:
            self.headers["content-type"] = content_type
        self.cookies = list(cookies) if cookies else []

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        return cls(None, status, {"location": location})


def _json_default(value: Any) -> Any:
    import datetime
    import uuid
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        import base64  # binary bodies only: kept out of the cold start

        return base64.b64encode(value).decode()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):  # a pydantic model inside a returned dict or list
        return dump(mode="json", by_alias=True)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# one encoder for every response: json.dumps with these options builds a new one per call
_ENCODER = json.JSONEncoder(default=_json_default, separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    text = _ENCODER.encode(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a client's "\ud800") travels as that JSON escape
        return json.dumps(value, default=_json_default, separators=(",", ":"))
    return text


def error_body(status: int, message: str, code: str | None = None) -> Response:
    body = {"message": message}
    if code:
        body["code"] = code
    return Response(body, status)


def to_response(result: Any) -> Response:
    """Whatever a handler returned, as a Response."""
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        if len(result) == 2:
            return _with_status(to_response(result[1]), result[0])
        if len(result) == 3:
            out = _with_status(to_response(result[1]), result[0])
            out.headers.update({k.lower(): str(v) for k, v in result[2].items()})
            return out
        raise TypeError("a handler returns (status, body) or (status, body, headers)")
    return Response(result, 204 if result is None else 200)


def _with_status(response: Response, status: Any) -> Response:
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise TypeError(f"HTTP status must be an integer from 100 to 599, got {status!r}")
    response.status = status
    return response


def to_lambda(response: Response) -> dict[str, Any]:
    """The payload 2.0 dict API Gateway expects back from the Lambda function."""
    headers = dict(response.headers)
    body = response.body
    b64 = False
    if body is None:
        text = ""
    elif isinstance(body, (bytes, bytearray, memoryview)):
        import base64

        text = base64.b64encode(bytes(body)).decode()
        b64 = True
        headers.setdefault("content-type", "application/octet-stream")
    elif isinstance(body, str):
        text = body
        headers.setdefault("content-type", "text/plain; charset=utf-8")
    else:
        text = dumps(body)
        headers.setdefault("content-type", "application/json")
    out = {"statusCode": response.status, "headers": headers, "body": text, "isBase64Encoded": b64}
    if response.cookies:
        out["cookies"] = response.cookies
    return out
