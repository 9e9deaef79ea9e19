"""Log lines that say which trace they belong to.

``TraceFilter`` (on a handler) puts the current trace id on every record as ``record.trace_id`` (and
the span as ``record.span_id``; ``-`` outside a trace), so a format string can show it:
``%(asctime)s %(trace_id)s %(name)s %(message)s``. ``JsonFormatter`` writes one JSON object per line
(time, level, logger, message, trace_id, span_id, request_id in Lambda, exception) for CloudWatch Logs
Insights and other log stores; ``STRATO_LOG_FORMAT=json`` makes ``strato dev``, ``strato worker`` and
(set by strato synth) the deployed functions use it.
"""

from __future__ import annotations

import json
import logging
import os
import time

from . import context


class TraceFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` to each record (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = context.current()
        record.trace_id = found.trace_id if found is not None else "-"
        record.span_id = (found.span_id or "-") if found is not None else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
    ``trace_id`` / ``span_id`` when the record was logged inside a trace, ``exception`` (the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        found = context.current() if not hasattr(record, "trace_id") else None
        trace = getattr(record, "trace_id", None) or (found.trace_id if found is not None else None)
        span = getattr(record, "span_id", None) or (found.span_id if found is not None else None)
        out: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if trace and trace != "-":
            out["trace_id"] = trace
        if span and span != "-":
            out["span_id"] = span
        request = getattr(record, "aws_request_id", None)  # the Lambda runtime's filter sets it
        if request:
            out["request_id"] = request
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


def json_wanted() -> bool:
    return os.environ.get("STRATO_LOG_FORMAT", "").strip().lower() == "json"


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(trace_id)s] %(message)s"


def instrument(handler: logging.Handler, json_lines: bool | None = None) -> logging.Handler:
    """Give ``handler`` the trace filter and, with ``json_lines`` (None: ``STRATO_LOG_FORMAT=json``),
    the JSON formatter; returns it."""
    handler.addFilter(TraceFilter())
    if json_wanted() if json_lines is None else json_lines:
        handler.setFormatter(JsonFormatter())
    return handler


class TraceSuffix(logging.Formatter):
    """Another formatter's line with `` [trace 1-...]`` after its first line when the record was logged
    inside a trace (needs ``TraceFilter`` on the handler): text logs keep their shape and gain the id."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        trace = getattr(record, "trace_id", "-")
        if trace == "-":
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [trace {trace}]{newline}{rest}"


def suffixed(inner: str = "logging.Formatter", **kwargs: object) -> logging.Formatter:
    """A ``logging.config`` factory: ``{"()": "strato.trace.logs.suffixed", "inner": "uvicorn.logging.
    DefaultFormatter", "fmt": ...}``; with ``STRATO_LOG_FORMAT=json``, the JSON formatter instead."""
    if json_wanted():
        return JsonFormatter()
    from importlib import import_module

    module, _, name = inner.rpartition(".")
    return TraceSuffix(getattr(import_module(module), name)(**kwargs))
