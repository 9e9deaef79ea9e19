"""One hop of a trace (a ``Span``) and the ``Tracer`` that opens and closes them.

A span is one invocation of one handler (an HTTP request, a queue message, a topic delivery, a change-
stream batch, a schedule firing, a bucket event, a WebSocket event, a workflow execution) or one send
the app makes out of itself (a WebSocket post, a webhook delivery). Closed spans go to the tracer's
sinks: the local span store (``strato dev``, ``strato worker``), an OpenTelemetry exporter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import context as ctx
from .context import TraceContext

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


class Span:
    """A finished hop. ``trace_id`` is X-Ray's Root; ``span_id`` / ``parent_id`` 16 hex digits (no parent:
    the trace's entry); ``kind`` what ran it (``http``, ``websocket``, ``queue``, ``topic``, ``stream``,
    ``schedule``, ``bucket``, ``workflow``, ``websocket.send``, ``webhook``); ``resource`` the declared
    name; ``handler`` what ran; ``outcome`` ``ok``, ``error`` or ``N failed``; ``start`` Unix seconds;
    ``duration`` seconds; ``error`` the exception as text; ``attributes`` a small dict of details (an
    HTTP request's method, path and status, a message id); ``seq`` the store's position (0 until stored)."""

    __slots__ = (*FIELDS, "seq")

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
        self.attributes = attributes or {}
        self.seq = seq

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (what the console and ``/_strato`` endpoints serve)."""
        out = {name: getattr(self, name) for name in FIELDS}
        out["seq"] = self.seq
        return out

    def __repr__(self) -> str:
        return f"Span({self.kind} {self.resource}:{self.handler} {self.outcome} {self.trace_id}/{self.span_id})"


class Active:
    """A span in progress: its context is current until the tracer finishes it."""

    __slots__ = ("attributes", "context", "handler", "kind", "parent_id", "resource", "started", "t0", "token")

    def __init__(self, context: TraceContext, parent_id: str | None, kind: str, resource: str, handler: str) -> None:
        self.context = context
        self.parent_id = parent_id
        self.kind = kind
        self.resource = resource
        self.handler = handler
        self.attributes: dict[str, Any] = {}
        self.started = time.time()
        self.t0 = time.perf_counter()
        self.token = ctx.enter(context)

    @property
    def trace_id(self) -> str:
        return self.context.trace_id

    @property
    def header(self) -> str:
        return self.context.header


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


class Tracer:
    """Opens spans (continuing the trace of an incoming header, else the current span's, else a new one)
    and hands each finished one to every sink. Thread-safe: the current span is a context variable."""

    def __init__(self, sinks: list[Sink] | None = None) -> None:
        self.sinks: list[Sink] = list(sinks or [])

    def start(self, kind: str, resource: str, handler: str, parent: str | TraceContext | None = None) -> Active:
        incoming = ctx.parse(parent) if isinstance(parent, str) else parent
        if incoming is None:
            incoming = ctx._current.get()
        if incoming is None:
            return Active(TraceContext(ctx.new_trace_id(), ctx.new_span_id()), None, kind, resource, handler)
        context = TraceContext(incoming.trace_id, ctx.new_span_id(), incoming.sampled)
        return Active(context, incoming.span_id, kind, resource, handler)

    def finish(
        self, active: Active, errors: list[BaseException] | tuple[BaseException, ...] = (), outcome: str | None = None
    ) -> Span:
        duration = time.perf_counter() - active.t0
        ctx.leave(active.token)
        if outcome is None:
            outcome = "ok" if not errors else "error" if len(errors) == 1 else f"{len(errors)} failed"
        span = Span(
            active.context.trace_id,
            active.context.span_id or "",
            active.parent_id,
            active.kind,
            active.resource,
            active.handler,
            outcome,
            active.started,
            duration,
            describe(errors[0]) if errors else None,
            active.attributes,
        )
        if active.context.sampled:
            for sink in self.sinks:
                sink(span)
        return span

    @contextmanager
    def span(self, kind: str, resource: str, handler: str, parent: str | None = None) -> Iterator[Active]:
        """``with tracer.span(...) as active:`` one hop around the block; an exception is its error."""
        active = self.start(kind, resource, handler, parent)
        try:
            yield active
        except BaseException as exc:
            self.finish(active, [exc])
            raise
        self.finish(active)
