"""Turning tracing on and off for this process.

``install(tracer)`` makes every dispatcher open a span per invocation and every facade that sends
(WebSocket posts, webhooks) open one per send. With nothing installed (Lambda without OpenTelemetry)
dispatchers skip tracing altogether, and sends still carry the trace the Lambda runtime gives each
invocation (``_X_AMZN_TRACE_ID``), so X-Ray follows them across queues and topics.
"""

from __future__ import annotations

from pathlib import Path

from . import context
from .span import Tracer
from .store import SpanStore


def install(tracer: Tracer | None) -> Tracer | None:
    """Use ``tracer`` in this process (None: stop tracing); returns the previous one."""
    from ..dispatch import base

    previous = context.tracer
    context.tracer = tracer
    base.trace_with(tracer)
    return previous


def uninstall() -> None:
    install(None)


def installed() -> Tracer | None:
    return context.tracer


def enabled(data_dir: Path | str, capacity: int | None = None) -> SpanStore:
    """Trace this process into the data directory's span store (what ``strato dev`` and ``strato
    worker`` do); returns the store. Installs a tracer if none is, else adds the store as a sink."""
    store = SpanStore(data_dir, capacity)
    tracer = context.tracer
    if tracer is None:
        install(Tracer([store.add]))
    else:
        tracer.sinks.append(store.add)
    return store
