"""Tracing: every entry into the app starts a trace (X-Ray's ``X-Amzn-Trace-Id`` format), every hop
(queue message, topic delivery, change-stream batch, workflow execution, WebSocket send, webhook) is a
span of it, and handlers read the current trace id with ``strato.trace_id()``. See docs/tracing.md.

Cheap to import: names load their module on first use (``strato.trace.context`` is what facades read).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .context import HEADER, TraceContext, current, new_span_id, new_trace_id, outgoing_header, parse, trace_id
    from .logs import JsonFormatter, TraceFilter
    from .setup import install, installed, uninstall
    from .span import Span
    from .store import SpanStore
    from .tracer import Tracer

_HOMES = {
    **dict.fromkeys(
        ("HEADER", "TraceContext", "current", "new_span_id", "new_trace_id", "outgoing_header", "parse", "trace_id"),
        ".context",
    ),
    **dict.fromkeys(("JsonFormatter", "TraceFilter"), ".logs"),
    **dict.fromkeys(("install", "installed", "uninstall"), ".setup"),
    "Span": ".span",
    "Tracer": ".tracer",
    "SpanStore": ".store",
}
__all__ = [
    "HEADER",
    "JsonFormatter",
    "Span",
    "SpanStore",
    "TraceContext",
    "TraceFilter",
    "Tracer",
    "current",
    "install",
    "installed",
    "new_span_id",
    "new_trace_id",
    "outgoing_header",
    "parse",
    "trace_id",
    "uninstall",
]


def __getattr__(name: str) -> object:
    from importlib import import_module

    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value
    return value
