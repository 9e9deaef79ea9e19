"""The handler's log lines of each hop, for the trace view: a logging handler on the root logger keeps
the lines logged inside a span (by the span's id), newest spans kept, the oldest dropped past a bound.

In memory and in this process: lines a handler logged in ``strato worker`` (another process) are in
that process's output, not here. Installed once, when the dev server mounts the console."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

MAX_SPANS = 5_000  # spans whose lines are kept
MAX_LINES = 50  # lines kept per span
MAX_CHARS = 2_000  # of one line (a traceback included)


class SpanLogs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.spans: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        from ..trace.context import current

        context = current()
        if context is None or not context.span_id:
            return
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # a bad format string must not break the app's logging
            return
        line = {"at": record.created, "level": record.levelname, "logger": record.name, "message": text[:MAX_CHARS]}
        with self.guard:
            lines = self.spans.get(context.span_id)
            if lines is None:
                lines = self.spans[context.span_id] = []
                while len(self.spans) > MAX_SPANS:
                    self.spans.popitem(last=False)
            if len(lines) < MAX_LINES:
                lines.append(line)

    def of(self, span_id: str) -> list[dict[str, Any]]:
        with self.guard:
            return list(self.spans.get(span_id, ()))


_installed: SpanLogs | None = None
_lock = threading.Lock()


def install() -> SpanLogs:
    """The process's span log keeper, added to the root logger on first call."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = SpanLogs()
            logging.getLogger().addHandler(_installed)
        return _installed
