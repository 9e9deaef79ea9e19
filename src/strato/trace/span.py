"""One hop of a trace: a ``Span`` (``strato.trace.tracer.Tracer`` opens and closes them).

A span is one invocation of one handler (an HTTP request, a queue message, a topic delivery, a change-
stream batch, a schedule firing, a bucket event, a WebSocket event, a workflow execution) or one send
the app makes out of itself (a WebSocket post, a webhook delivery). Closed spans go to the tracer's
sinks: the local span store (``strato dev``, ``strato worker``), an OpenTelemetry exporter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Sink = Callable[["Span"], None]

FIELDS = (
    "trace_id",
    "span_id",
    "parent_id",
    "kind",
    "resource",
    "handler",
    "outcome",
    "start",
    "duration",
    "error",
    "attributes",
)
#: the slots behind FIELDS (``attributes`` is made on first use: most hops have none)
SLOTS = (*FIELDS[:-1], "_attributes")


class Span:
    """One hop. ``trace_id`` is X-Ray's Root; ``span_id`` / ``parent_id`` 16 hex digits (no parent: the
    trace's entry); ``kind`` what ran it (``http``, ``websocket``, ``queue``, ``topic``, ``stream``,
    ``schedule``, ``bucket``, ``workflow``, ``websocket.send``, ``webhook``); ``resource`` the declared
    name; ``handler`` what ran; ``outcome`` ``ok``, ``error``, ``N failed`` or ``gone``; ``start`` Unix
    seconds; ``duration`` seconds; ``error`` the exception as text; ``attributes`` a small dict of details
    (an HTTP request's method, path and status, a message id); ``seq`` the store's position (0 until
    stored). While it runs (between ``Tracer.start`` and ``Tracer.finish``) its ``context`` is current."""

    __slots__ = (*SLOTS, "_header", "sampled", "seq", "token")
    _header: str | None  # made by ``header`` on first use (None: not yet; unset on a stored span)

    def __init__(
        self,
        trace_id: str,
        span_id: str,
        parent_id: str | None,
        kind: str,
        resource: str,
        handler: str,
        outcome: str,
        start: float,
        duration: float,
        error: str | None = None,
        attributes: dict[str, Any] | None = None,
        seq: int = 0,
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.kind = kind
        self.resource = resource
        self.handler = handler
        self.outcome = outcome
        self.start = start
        self.duration = duration
        self.error = error
        self._attributes = attributes
        self.seq = seq
        self.sampled = True
        self.token: Any = None

    @property
    def attributes(self) -> dict[str, Any]:
        """A small dict of details, made on first use (most hops have none: no dict made for them). A
        dispatcher may set ``_attributes`` to a flat tuple ``(name, value, name, value, ...)`` instead: no
        dict on the request's path, and a record the garbage collector stops tracking at once."""
        found = self._attributes
        if found is None:
            found = self._attributes = {}
        elif type(found) is not dict:
            found = self._attributes = pairs(found)
        return found

    @attributes.setter
    def attributes(self, value: dict[str, Any]) -> None:
        self._attributes = value

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (what the console and ``/_strato`` endpoints serve)."""
        out = {name: getattr(self, name) for name in FIELDS}
        out["seq"] = getattr(self, "seq", 0)  # 0: not stored (yet)
        return out

    @property
    def header(self) -> str:
        """The ``X-Amzn-Trace-Id`` a send made inside this span carries (this span as its Parent); made
        once: each message of a batch sent in the span carries it."""
        header = getattr(self, "_header", None)  # a Span made by its constructor (a stored one) has none
        if header is None:
            flag = ";Sampled=1" if self.sampled else ";Sampled=0"
            header = self._header = "Root=" + self.trace_id + ";Parent=" + self.span_id + flag
        return header

    @property
    def context(self) -> Span:
        """A running span is its own trace context (``trace_id``, ``span_id``, ``sampled``, ``header``)."""
        return self

    def __repr__(self) -> str:
        outcome = getattr(self, "outcome", "running")
        return f"Span({self.kind} {self.resource}:{self.handler} {outcome} {self.trace_id}/{self.span_id})"


def pairs(flat: Any) -> dict[str, Any]:
    """``{name: value}`` of a flat ``(name, value, ...)`` tuple (or list, as a stored batch gives back)."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]
