"""Turning tracing on and off for this process.

``install(tracer)`` makes every dispatcher open a span per invocation and every facade that sends
(WebSocket posts, webhooks) open one per send. With nothing installed (Lambda without OpenTelemetry)
dispatchers skip tracing altogether, and sends still carry the trace the Lambda runtime gives each
invocation (``_X_AMZN_TRACE_ID``), so X-Ray follows them across queues and topics.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import context
from .store import SpanStore
from .tracer import Tracer


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


def wanted() -> bool:
    """Local tracing is on unless ``STRATO_TRACE`` is ``0`` / ``off`` / ``false``."""
    return os.environ.get("STRATO_TRACE", "1").strip().lower() not in ("0", "off", "false", "no")


def answer_header_wanted() -> bool:
    """``STRATO_TRACE_HEADER=1``: answer each traced HTTP request with its ``x-amzn-trace-id`` (off by
    default: an API Gateway HTTP API sends no such header, X-Ray traces only REST APIs)."""
    return os.environ.get("STRATO_TRACE_HEADER", "").strip().lower() in ("1", "on", "true", "yes")


class LocalTracing:
    """What ``strato dev`` and ``strato worker`` run: the data directory's span store, and (between
    ``start`` and ``stop``) a tracer writing to it installed in this process."""

    def __init__(self, data_dir: Path | str, capacity: int | None = None) -> None:
        self.store = SpanStore(data_dir, capacity)
        self.tracer = Tracer()
        self.store.attach(self.tracer)
        self.tracer.answer_header = answer_header_wanted()
        self._previous: Tracer | None = None

    def start(self) -> LocalTracing:
        """Trace into the store: with a tracer already installed (the app enabled OpenTelemetry export),
        the store becomes one more of its sinks."""
        self._previous = context.tracer
        if self._previous is None:
            install(self.tracer)
        else:
            self._previous.sinks.append(self.store.add)
            self._previous.answer_header = self._previous.answer_header or self.tracer.answer_header
        return self

    def stop(self) -> None:
        """Stop tracing here (the previous tracer comes back) and write what is pending."""
        if context.tracer is self.tracer:
            install(self._previous)
        elif self._previous is not None and self.store.add in self._previous.sinks:
            self._previous.sinks.remove(self.store.add)
        self.store.close()
