"""Each function's error rate, locally: the invocations the dispatchers run, counted per function as Lambda
counts Invocations and Errors (an invocation is an error when the handler's exception leaves it: a batch's
reported item failures and an HTTP 500 the app answered are not, as on Lambda).

Every invocation becomes a datapoint of ``ErrorRate`` -- 100 if it failed, 0 if not -- so the Average over
the alarm's 5 minutes is exactly 100 x Errors / Invocations, the ratio the CloudWatch alarm's metric math
computes; no invocations is missing data, which the alarm treats as not breaching.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..core.function_settings import function_name, one_of, settings_of, websocket_settings
from ..metrics.alarm import Alarm

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..app import App
    from . import AlarmOptions

METRIC = "ErrorRate"
LAMBDA = "AWS/Lambda"


def _label(handler: Any) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)  # as dispatch.base.name_of names it


def functions(app: App) -> dict[tuple[str, str], tuple[str, Any]]:
    """(dispatch source, handler label) -> (function key as strato synth names it, its settings)."""
    found: dict[tuple[str, str], tuple[str, Any]] = {}
    for queue in app.of_kind("queue"):
        for consumer in queue.consumers:
            found["queue", _label(consumer.handler)] = (f"queue-{queue.name}", settings_of(consumer.handler))
    for topic in app.of_kind("topic"):
        for sub in topic.declared:
            if sub.protocol != "sqs" and callable(sub.handler):
                key = f"topic-{topic.name}-{sub.arn.rsplit(':', 1)[-1]}"
                found.setdefault(("topic", _label(sub.handler)), (key, settings_of(sub.handler)))
    for schedule in app.schedules:
        found["schedule", schedule.name] = (f"schedule-{schedule.name}", settings_of(schedule.handler))
    for table in app.of_kind("table"):
        for spec in getattr(table, "stream_handlers", None) or []:
            key = f"stream-{table.name}-{spec.name.split(':', 1)[1]}"
            found["stream", spec.name] = (key, settings_of(spec.handler))
    for bucket in app.of_kind("bucket"):
        shared = one_of([w.handler for w in bucket.watchers], f"bucket {bucket.name!r}")
        for watcher in bucket.watchers:
            found["bucket", _label(watcher.handler)] = (f"bucket-{bucket.name}", shared)
    for ws in app.of_kind("websocket"):
        found["websocket", ws.name] = (f"ws-{ws.name}", websocket_settings(ws))
    if app._http is not None:
        found["http", "*"] = ("http", app._http.function_settings)
    return found


FLUSH_AFTER_S = 5.0
FLUSH_AT = 1000


class InvocationMeter:
    """Told of every invocation in this process (``dispatch.base.meters``); hands them over as points when
    the alarms are evaluated, or writes them itself (``store``) every few seconds or thousand invocations,
    so a process that runs handlers but no evaluator (``strato dev --no-worker``) neither keeps them
    forever nor keeps them from the worker evaluating in another process."""

    def __init__(self, app: App, store: Callable[[list[dict[str, Any]]], None]) -> None:
        self.app = app
        self.store = store
        self.lock = threading.Lock()
        self.pending: list[tuple[str, float, bool]] = []  # (function key, when, raised)
        self._known: dict[tuple[str, str], tuple[str, Any]] = {}

    def __call__(self, source: str, handler: str, raised: bool) -> None:
        from ..core import clock

        ident = ("http", "*") if source == "http" else (source, handler)
        if ident not in self._known:
            self._known = functions(self.app)
        found = self._known.get(ident)
        if found is None:
            return
        now = clock.now()
        with self.lock:
            self.pending.append((found[0], now, raised))
            due = len(self.pending) >= FLUSH_AT or now - self.pending[0][1] >= FLUSH_AFTER_S
        if due:
            points = self.points()
            if points:
                self.store(points)

    def points(self) -> list[dict[str, Any]]:
        with self.lock:
            pending, self.pending = self.pending, []
        config = self.app.config
        return [
            {
                "name": METRIC,
                "value": 100.0 if raised else 0.0,
                "unit": "Percent",
                "dimensions": {"FunctionName": function_name(self.app.name, config.stage, key)},
                "timestamp": at,
                "resolution": 60,
            }
            for key, at, raised in pending
        ]


def error_rate_alarms(app: App, options: AlarmOptions) -> list[Alarm]:
    """One per function the app would deploy, as the template's ``fn-<key>-error-rate``."""
    out = []
    for key, settings in sorted({k: s for k, s in functions(app).values()}.items()):
        if not options.wants(f"function:{key}") or (settings is not None and settings.alarms is False):
            continue
        dims = {"FunctionName": function_name(app.name, app.config.stage, key)}
        described = f"function {key}: more than {options.error_rate:.0%} of invocations failed"
        threshold = options.error_rate * 100
        name = f"fn-{key}-error-rate"
        alarm = Alarm(name, METRIC, "Average", 300, threshold, ">", 1, 1, "notBreaching", dims, description=described)
        out.append(alarm)
    return out
