"""The request a handler receives, read straight from an API Gateway HTTP API (payload 2.0) event."""

from __future__ import annotations

import json

from ..core.errors import ValidationError, json_problem

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from typing import Any


class BadRequest(ValidationError):
    """The client sent something that cannot be read (malformed JSON, wrong encoding)."""


def lower_headers(raw: Any) -> dict[str, str]:
    """Header names lower-cased, as API Gateway delivers them; a name given in two cases (an event built
    by hand or by another gateway) keeps both values, comma-joined as API Gateway joins repeats."""
    out: dict[str, str] = {}
    for name, value in (raw or {}).items():
        key = str(name).lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def event_headers(event: dict[str, Any]) -> dict[str, str]:
    """The event's headers with lower-cased names, written back so every reader (routing, CORS, the
    authorizer, the Request) sees one spelling whatever case the event carried."""
    headers = event.get("headers")
    if not isinstance(headers, dict) or not _lower_case(headers):
        headers = event["headers"] = lower_headers(headers if isinstance(headers, dict) else {})
    return headers


def _lower_case(headers: dict) -> bool:
    """Whether every string name is lower case already: one join and one lower() in the common case."""
    try:
        names = "".join(headers)
    except TypeError:  # a name that is not a string (a hand-built event)
        return all(k == k.lower() for k in headers if isinstance(k, str))
    return names == names.lower()


class Headers(dict):
    """Lower-cased header names, as API Gateway delivers them; lookups ignore case."""

    def __init__(self, raw: Any = None) -> None:
        super().__init__(lower_headers(raw))

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


class Request:
    """One HTTP request. ``params`` holds path parameters, ``claims`` the authorizer's JWT claims."""

    __slots__ = ("_body", "_headers", "_json", "context", "event", "params")

    def __init__(self, event: dict[str, Any], params: dict[str, str] | None = None, context: Any = None) -> None:
        self.event = event
        self.context = context
        self.params = params if params is not None else (event.get("pathParameters") or {})
        self._headers: Headers | None = None
        self._body: bytes | None = None
        self._json: Any = _UNSET

    @property
    def headers(self) -> Headers:
        """The request's headers (copied from the event the first time a handler reads them)."""
        if self._headers is None:
            self._headers = Headers(self.event.get("headers") or {})
        return self._headers

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers = value

    @property
    def method(self) -> str:
        return self.event["requestContext"]["http"]["method"]

    @property
    def path(self) -> str:
        return self.event.get("rawPath", "/")

    @property
    def route(self) -> str:
        return self.event.get("routeKey", "$default")

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; a repeated name has its values joined by commas, as API Gateway does."""
        return self.event.get("queryStringParameters") or {}

    def query_list(self, name: str) -> list[str]:
        """Every value of a repeated query parameter, in order."""
        from urllib.parse import parse_qsl  # loaded when a handler reads the query string (cold start)

        return [v for k, v in parse_qsl(self.event.get("rawQueryString", ""), keep_blank_values=True) if k == name]

    @property
    def cookies(self) -> dict[str, str]:
        out = {}
        for cookie in self.event.get("cookies") or []:
            name, _, value = cookie.partition("=")
            out[name.strip()] = value.strip()
        return out

    @property
    def source_ip(self) -> str:
        return self.event["requestContext"]["http"].get("sourceIp", "")

    @property
    def request_id(self) -> str:
        return self.event["requestContext"].get("requestId", "")

    @property
    def claims(self) -> dict[str, Any]:
        """Claims of a verified JWT (API Gateway JWT authorizer or strato's local one); {} if none."""
        authorizer = self.event["requestContext"].get("authorizer") or {}
        return (authorizer.get("jwt") or {}).get("claims") or authorizer.get("lambda") or {}

    @property
    def body(self) -> bytes:
        if self._body is None:
            raw = self.event.get("body") or ""
            if self.event.get("isBase64Encoded"):
                import base64  # only for binary bodies: not on every cold start

                try:
                    self._body = base64.b64decode(raw, validate=True)
                except ValueError:
                    raise BadRequest("request body is marked base64 but is not valid base64") from None
            else:
                self._body = raw.encode("utf-8")
        return self._body

    @property
    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(f"request body is not valid UTF-8 (byte {exc.start})") from None

    def json(self) -> Any:
        """The body parsed as JSON; a 400 with the position of the error if it is not JSON."""
        if self._json is _UNSET:
            text = self.text
            if not text.strip():
                raise BadRequest("request body is empty; send a JSON document")
            try:
                self._json = json.loads(text)
            except (ValueError, RecursionError) as exc:  # ValueError: malformed, or an int over 4,300 digits
                raise BadRequest(f"malformed JSON body: {json_problem(exc)}") from None
        return self._json

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


_UNSET: Any = object()
