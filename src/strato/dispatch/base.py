"""What every dispatcher shares: awaiting async handlers, logging failures, counting invocations, and
telling an observer (``strato dev``'s log lines, the test kit's ``drain``) how each invocation went."""

from __future__ import annotations

import sys
import time

from ..core.usage import Counter

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from collections.abc import Callable
    from typing import Any

    Observer = Callable[["Invocation"], None]

LAMBDA_GB = 0.5  # the memory strato synth gives functions

#: told (source, handler, raised) after every invocation: the local default alarms count Lambda's Invocations
#: and Errors with it (empty inside Lambda, where CloudWatch counts them). Replaced, never changed in place.
meters: list[Callable[[str, str, bool], None]] = []
#: set by ``observe``; None inside Lambda, so an invocation costs nothing extra there
_observer: Observer | None = None
_current: Any = None  # threading.local() once an observer is set: the invocation running on this thread
#: set by ``trace_with`` (``strato.trace.install``); None inside Lambda unless OpenTelemetry export is on,
#: so dispatching costs nothing extra there (and imports nothing of ``strato.trace``)
_tracer: Any = None


def observe(observer: Observer | None) -> Observer | None:
    """Call ``observer(invocation)`` after every invocation in this process (None: stop); returns the
    previous one, so a caller can put it back."""
    global _observer, _current
    import threading

    previous, _observer = _observer, observer
    if _current is None:
        _current = threading.local()
    return previous


def trace_with(tracer: Any) -> Any:
    """Open a span per invocation with ``tracer`` (a ``strato.trace.Tracer``; None: stop); returns the
    previous one."""
    global _tracer, _current
    import threading

    previous, _tracer = _tracer, tracer
    if _current is None:
        _current = threading.local()
    return previous


def tracer() -> Any:
    """The tracer in use (None: tracing is off in this process)."""
    return _tracer


def log_exception(message: str, level: str = "error") -> None:
    """Log ``message`` with the exception being handled (if any) and its traceback; a handler's
    exception is also kept on the invocation it happened in, for the observer."""
    import logging  # only on the error path: keeps cold start lean

    error = sys.exc_info()[1]
    if error is not None and level == "error" and _current is not None:
        invocation = getattr(_current, "invocation", None)
        if invocation is not None:
            invocation.errors.append(error)
    getattr(logging.getLogger("strato"), level)(message, exc_info=error is not None)


def name_of(handler: Any) -> str:
    """A handler's name for logs: its qualified name, or its repr (a partial, a callable object)."""
    return getattr(handler, "__qualname__", None) or repr(handler)


def run(result: Any) -> Any:
    """Await a coroutine returned by an async handler when we are not on an event loop."""
    if result is None:  # most handlers return nothing: no attribute lookup that fails and raises inside
        return None
    if hasattr(result, "__await__"):
        import asyncio

        return asyncio.run(result)
    return result


def count_invocation(usage: Counter, started: float) -> None:
    """One Lambda invocation and its GB-seconds (billed per millisecond), for ``strato cost``."""
    count_seconds(usage, time.perf_counter() - started)


def count_seconds(usage: Counter, seconds: float) -> None:
    """One Lambda invocation that ran ``seconds`` (a span's duration, when a span timed it)."""
    usage.add("lambda", "invocations", 1)
    usage.add("lambda", "gb_seconds", max(seconds, 0.001) * LAMBDA_GB)


class Invocation:
    """``with Invocation(usage, source, handler):`` counts one Lambda invocation around the block, even
    when it raises. ``source`` is the event source (queue, topic, stream, schedule, bucket, websocket,
    http) and ``handler`` what ran; ``errors`` are the handler exceptions seen, including those a batch
    turned into item failures; ``seconds`` is how long it took.

    With a tracer on, the block is also a span of kind ``source`` on ``resource``, continuing the trace
    of ``parent`` (an ``X-Amzn-Trace-Id`` value: the HTTP header, a message's ``AWSTraceHeader``);
    ``traced=False`` when the dispatcher opens a span per item itself (``span_each``)."""

    def __init__(
        self,
        usage: Counter,
        source: str = "",
        handler: str = "",
        *,
        resource: str = "",
        parent: str | None = None,
        traced: bool = True,
    ) -> None:
        self.usage = usage
        self.source = source
        self.handler = handler
        self.resource = resource
        self.parent = parent
        self.traced = traced
        self.errors: list[BaseException] = []
        self.seconds = 0.0
        self.span: Any = None

    def __enter__(self) -> Invocation:
        self.started = time.perf_counter()
        if _observer is not None or _tracer is not None:
            self.outer = getattr(_current, "invocation", None)
            _current.invocation = self
            if _tracer is not None and self.traced:
                self.span = _tracer.start(self.source, self.resource or self.handler, self.handler, self.parent)
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        count_invocation(self.usage, self.started)
        for meter in meters:
            meter(self.source, self.handler, error is not None)
        if _current is not None and (_observer is not None or _tracer is not None):
            _current.invocation = getattr(self, "outer", None)
            self.seconds = time.perf_counter() - self.started
            if error is not None and isinstance(error, Exception) and error not in self.errors:
                self.errors.append(error)
            if self.span is not None and _tracer is not None:
                _tracer.finish(self.span, self.errors)
            observer = _observer
            if observer is not None:
                observer(self)

    @property
    def outcome(self) -> str:
        """``ok``, ``error`` (the handler raised) or ``N failed`` (items of a batch)."""
        if not self.errors:
            return "ok"
        return "error" if len(self.errors) == 1 else f"{len(self.errors)} failed"


def span_each(handler: Any, kind: str, resource: str, name: str, parent_of: Any) -> Any:
    """``handler`` wrapped so each call is a span continuing the trace ``parent_of(item)`` names (a queue
    message's AWSTraceHeader, a change record's), or ``handler`` itself while tracing is off."""
    tracer = _tracer
    if tracer is None:
        return handler
    return tracer.each(handler, kind, resource, name, parent_of, run)
