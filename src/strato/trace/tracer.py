"""The ``Tracer``: opens hops (spans) continuing the right trace, and hands each finished one to the
span store (``record``) and to sinks (an OpenTelemetry exporter). Every traced invocation runs through
here, so the paths are written for the interpreter's cost: ids from pools, slots set in line, one tuple
a recorded hop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..core import random_hex
from . import context as ctx
from .context import TraceContext
from .span import Sink, Span, describe

_now = time.time
_get = ctx._current.get
_set = ctx._current.set
_reset = ctx._current.reset
_blank = Span.__new__
_blank_context = TraceContext.__new__
_pop16 = random_hex._pop16
_pop24 = random_hex._pop24
_root: list[Any] = [-1, ""]  # (Unix second, "1-{its 8 hex digits}-") of the newest trace started here
#: span (X-Ray segment) ids only need to be "unique among segments in the same trace", trace ids hold
#: "a 96-bit identifier for the trace, globally unique"
#: (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html): both come from the
#: pooled random draws of ``core.random_hex`` (a ``list.pop`` each, no system call per span)


def _next_second(now: float) -> None:
    """A new second: the time part of the trace ids started in it (formatted once a second)."""
    second = int(now)
    _root[:] = [second, "1-%08x-" % (second & 0xFFFFFFFF)]


def _new_trace_id(now: float) -> str:
    """A new trace's id (X-Ray's Root) started at ``now``, its random part pooled. (``enter``, on every
    HTTP request without a header, does this in line.)"""
    if int(now) != _root[0]:
        _next_second(now)
    try:
        return _root[1] + _pop24()
    except IndexError:
        return _root[1] + random_hex.hex24()


def enter(header: str | None) -> tuple[TraceContext, str | None, float, Any]:
    """Open a hop recorded by its caller (``record``) rather than as a Span: the context continuing
    ``header``'s trace (else the running span's, else a new trace's) made current; returns it, its
    parent's span id, its start and the token that puts the previous context back (``_reset``). For the
    HTTP dispatcher: with ``leave`` (or its in-line form when the hop is recorded plainly), about a
    tenth fewer instructions than ``start`` and ``finish`` (a Span has 15 slots to fill, a TraceContext
    3); ``Tracer.each`` opens a queue message's hop with it too."""
    if header is None:  # sent outside any trace: the running span's trace, else a new one
        incoming = _get() or (ctx.current() if ctx.IN_LAMBDA else None)
    else:
        last = ctx._last  # parse's one-entry cache, read here: a batch's messages share one header
        incoming = (last[1] if header == last[0] else ctx.parse(header)) or ctx.current()
    running = _blank_context(TraceContext)
    start = _now()
    if incoming is None:
        if int(start) != _root[0]:
            _next_second(start)
        try:
            running.trace_id = _root[1] + _pop24()
        except IndexError:  # the pool is empty (once per 4,096 ids): the call refills it
            running.trace_id = _new_trace_id(start)
        parent_id = None
        running.sampled = True
    else:
        running.trace_id = incoming.trace_id
        parent_id = incoming.span_id
        running.sampled = incoming.sampled
    try:
        running.span_id = _pop16()
    except IndexError:
        running.span_id = random_hex.hex16()
    return running, parent_id, start, _set(running)


class Tracer:
    """Opens spans (continuing the trace of an incoming header, else the current span's, else a new one)
    and hands each finished one to every sink (and, as a tuple of its fields, to ``record``). Thread-safe:
    the current span is a context variable. ``answer_header``: ``strato dev`` adds ``x-amzn-trace-id`` to
    HTTP responses (``STRATO_TRACE_HEADER``)."""

    #: puts back the context a token of ``enter`` replaced (the context variable's own ``reset``), for a
    #: caller that closes a hop in line; from another context it raises ValueError (``leave`` handles that)
    restore = _reset

    def __init__(self, sinks: list[Sink] | None = None) -> None:
        self.sinks: list[Sink] = list(sinks or [])
        self.answer_header = False
        #: set by ``SpanStore.attach``: takes each finished span's fields as one tuple (the store's list
        #: ``extend``: no Python call, and the Span itself is freed on the request's thread)
        self.record: Callable[[tuple[Any, ...]], None] | None = None

    def start(self, kind: str, resource: str, handler: str, parent: str | TraceContext | None = None) -> Span:
        # every traced invocation runs this and ``finish``: slots set here rather than through
        # ``Span.__init__``, ids popped from pools, the time part of trace ids formatted once a second
        if parent is None:
            incoming = _get() or (ctx.current() if ctx.IN_LAMBDA else None)
        else:  # an incoming header without a valid Root: the running span's trace (in Lambda, the runtime's)
            last = ctx._last  # parse's one-entry cache, read here: a batch's messages share one header
            if parent == last[0]:
                incoming = last[1] or ctx.current()
            else:
                incoming = (ctx.parse(parent) if isinstance(parent, str) else parent) or ctx.current()
        span = _blank(Span)
        span.start = now = _now()
        if incoming is None:  # a new trace: a schedule firing, a WebSocket event without a header, ...
            span.trace_id = _new_trace_id(now)
            span.parent_id = None
            span.sampled = True
        else:
            span.trace_id = incoming.trace_id
            span.parent_id = incoming.span_id
            span.sampled = incoming.sampled
        try:
            span.span_id = _pop16()  # the pool's own pop; the refill (once per 4,096 ids) is the call
        except IndexError:
            span.span_id = random_hex.hex16()
        span.kind = kind
        span.resource = resource
        span.handler = handler
        span.error = None
        span._attributes = None
        span._header = None
        # ``outcome`` and ``duration`` are set by ``finish``; ``seq`` only by the store
        span.token = _set(span)  # type: ignore[arg-type]  # a running span is a trace context
        return span

    def finish(
        self, span: Span, errors: list[BaseException] | tuple[BaseException, ...] = (), outcome: str | None = None
    ) -> Span:
        span.duration = _now() - span.start
        try:
            _reset(span.token)
        except ValueError:  # reset from another context (a generator finished elsewhere): just clear
            _set(None)
        if errors:
            span.error = describe(errors[0])
            span.outcome = outcome or ("error" if len(errors) == 1 else f"{len(errors)} failed")
        else:
            span.outcome = outcome or "ok"
        if span.sampled:
            if (record := self.record) is not None:  # the span's fields, in ``SLOTS`` order, read in line
                # (``operator.attrgetter``, what ``SpanStore.add`` uses, measured 2k instructions more a span)
                record(
                    (
                        span.trace_id,
                        span.span_id,
                        span.parent_id,
                        span.kind,
                        span.resource,
                        span.handler,
                        span.outcome,
                        span.start,
                        span.duration,
                        span.error,
                        span._attributes,
                    )
                )
            for sink in self.sinks:
                sink(span)
        return span

    enter = staticmethod(enter)

    def leave(
        self,
        opened: tuple[TraceContext, str | None, float, Any],
        kind: str,
        resource: str,
        handler: str,
        errors: list[BaseException] | tuple[BaseException, ...] = (),
        attributes: Any = None,
        outcome: str | None = None,
    ) -> float:
        """Close a hop ``enter`` opened: the previous context back, the hop recorded as ``finish`` records
        a span (and made a Span for each sink); returns its duration in seconds."""
        running, parent_id, start, token = opened
        duration = _now() - start
        try:
            _reset(token)
        except ValueError:  # reset from another context (a generator finished elsewhere): just clear
            _set(None)
        if running.sampled:
            error = None
            if errors:
                error = describe(errors[0])
                outcome = outcome or ("error" if len(errors) == 1 else f"{len(errors)} failed")
            elif outcome is None:
                outcome = "ok"
            fields = (running.trace_id, running.span_id, parent_id, kind, resource, handler, outcome, start, duration)
            if (record := self.record) is not None:
                record((*fields, error, attributes))
            for sink in self.sinks:
                sink(Span(*fields, error, attributes))  # type: ignore[arg-type]  # span_id: always set by enter
        return duration

    def each(
        self,
        call: Callable[[Any], Any],
        kind: str,
        resource: str,
        handler: str,
        parent_of: Callable[[Any], str | None],
        settle: Callable[[Any], Any],
    ) -> Callable[[Any], Any]:
        """``call`` wrapped so each call is a span continuing the trace ``parent_of(item)`` names (a queue
        message's ``AWSTraceHeader``); ``settle`` takes a result that is not None (awaits a coroutine). For
        a span per item of a batch (a queue consumer's per message): opened by ``enter`` and recorded in line,
        with a ``TraceContext`` as the running context instead of a Span (a quarter less than ``start`` and
        ``finish``); with a sink (OpenTelemetry), which takes Span objects, through ``start`` and ``finish``."""
        record = self.record
        if record is None or self.sinks:
            return self._each_span(call, kind, resource, handler, parent_of, settle)

        def recorded(item: Any) -> Any:
            running, parent_id, start, token = enter(parent_of(item))
            trace_id, span_id, sampled = running.trace_id, running.span_id, running.sampled
            try:
                result = call(item)
                if result is not None:  # most handlers return nothing
                    result = settle(result)
            except BaseException as exc:
                _reset(token)
                if sampled:
                    fields = (trace_id, span_id, parent_id, kind, resource, handler, "error", start)
                    record((*fields, _now() - start, describe(exc), None))
                raise
            duration = _now() - start
            _reset(token)  # in this frame's own context: never from another one
            if sampled:
                record((trace_id, span_id, parent_id, kind, resource, handler, "ok", start, duration, None, None))
            return result

        return recorded

    def _each_span(self, call: Any, kind: str, resource: str, handler: str, parent_of: Any, settle: Any) -> Any:
        """``each`` through ``start`` and ``finish``: a Span object for the sinks."""

        def spanned(item: Any) -> Any:
            active = self.start(kind, resource, handler, parent_of(item))
            try:
                result = call(item)
                if result is not None:
                    result = settle(result)
            except BaseException as exc:
                self.finish(active, (exc,))
                raise
            self.finish(active)
            return result

        return spanned

    def span(self, kind: str, resource: str, handler: str, parent: str | None = None) -> Scope:
        """``with tracer.span(...) as active:`` one hop around the block; an exception is its error."""
        return Scope(self, kind, resource, handler, parent)


class Scope:
    """The block of ``Tracer.span``: a span opened on entry and finished on exit, with the exception that
    ended the block (if any) as its error. A class rather than a generator context manager: about a third
    of the cost, and it runs for every WebSocket post and webhook attempt."""

    __slots__ = ("active", "handler", "kind", "parent", "resource", "tracer")

    def __init__(self, tracer: Tracer, kind: str, resource: str, handler: str, parent: str | None) -> None:
        self.tracer, self.kind, self.resource, self.handler, self.parent = tracer, kind, resource, handler, parent

    def __enter__(self) -> Span:
        self.active = self.tracer.start(self.kind, self.resource, self.handler, self.parent)
        return self.active

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> None:
        self.tracer.finish(self.active, (error,) if error is not None else ())
