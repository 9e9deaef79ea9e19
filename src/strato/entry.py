"""The Lambda entry point's table: which declared handler an AWS event is for, and its dispatcher.

``app.lambda_handler`` looks the event's kind up here. Each entry finds the one handler the event
targets (by the source ARN, or ``STRATO_HANDLER`` / ``STRATO_WEBSOCKET`` that synth sets per function)
and hands it to its dispatcher, which never sees the App.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .core.errors import ConfigurationError, StratoError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from typing import Any

    from .app import App

    Entry = Callable[[App, dict[str, Any], Any], Any]


def _of_kind(app: App, kind: str) -> list[Any]:
    return [r for (k, _), r in app.resources.items() if k == kind]


def _wanted() -> str | None:
    return os.environ.get("STRATO_HANDLER")  # set per function by strato synth


def http(app: App, event: dict[str, Any], context: Any) -> Any:
    return app.http_dispatcher.handle(event, context)


def http_authorizer(app: App, event: dict[str, Any], context: Any) -> Any:
    """strato's HTTP routes use the JWT authorizer; a Lambda authorizer request is refused, never routed."""
    arn = event.get("routeArn") or event.get("methodArn")
    shape = "payload 2.0, routeArn" if "routeArn" in event else "payload 1.0 or REST API, methodArn"
    raise ConfigurationError(
        f"app {app.name!r} got an API Gateway Lambda authorizer request (type {event.get('type')}, {shape} "
        f"{arn!r}): strato does not implement Lambda authorizers for HTTP APIs and will not run it as a "
        "route. Protect routes with auth=... (the JWT authorizer), or point the authorizer at its own function"
    )


def sqs(app: App, event: dict[str, Any], context: Any) -> Any:
    from .dispatch import sqs as dispatch

    records = event.get("Records") or []
    name = (records[0].get("eventSourceARN", "") if records else "").rsplit(":", 1)[-1]
    queue = next((q for q in _of_kind(app, "queue") if q.consumers and q.physical_name == name), None)
    if queue is None:
        raise StratoError(f"no consumer is declared for queue {name!r} in app {app.name!r}")
    return dispatch.handle(queue.consumers[0], event, app.usage)


def sns(app: App, event: dict[str, Any], context: Any) -> None:
    from .dispatch import sns as dispatch

    for record in event.get("Records") or []:
        topic_name = record["Sns"]["TopicArn"].rsplit(":", 1)[-1]
        topic = next((t for t in _of_kind(app, "topic") if t.physical_name == topic_name), None)
        if topic is None:
            raise StratoError(f"no topic {topic_name!r} is declared in app {app.name!r}")
        handlers = [s for s in topic.declared if s.protocol == "lambda"]
        wanted = _wanted()
        if wanted:
            handlers = [s for s in handlers if s.arn.endswith(f":handler:{wanted}")]
        elif len(handlers) > 1:  # one function for all: run those whose filter accepts the message
            sns_part = record["Sns"]
            attrs = {
                n: {"DataType": a["Type"], "StringValue": a["Value"]}
                for n, a in (sns_part.get("MessageAttributes") or {}).items()
            }
            handlers = [s for s in handlers if s.accepts(sns_part["Message"], attrs)]
        for sub in handlers:
            dispatch.handle(sub.handler, {"Records": [record]}, app.usage)


def dynamodb(app: App, event: dict[str, Any], context: Any) -> dict[str, Any]:
    from .dispatch import dynamodb_stream as dispatch

    records = event.get("Records") or []
    if not records:
        return {"batchItemFailures": []}
    from .events.dynamodb_stream import table_of_stream

    physical = table_of_stream(records[0].get("eventSourceARN") if isinstance(records[0], dict) else None)
    table = next((t for t in _of_kind(app, "table") if t.stream_handlers and t.physical_name == physical), None)
    if table is None:
        raise StratoError(f"no table with change handlers matches stream of {physical!r}")
    wanted = _wanted()
    failures: list[dict[str, str]] = []
    for spec in table.stream_handlers:
        if not wanted or spec.name == wanted:
            failures += dispatch.handle(spec, event, app.usage)["batchItemFailures"]
    return {"batchItemFailures": failures}


def s3(app: App, event: dict[str, Any], context: Any) -> None:
    from .dispatch import s3 as dispatch

    for record in event.get("Records") or []:
        name = record["s3"]["bucket"]["name"]
        bucket = next((b for b in _of_kind(app, "bucket") if b.physical_name == name), None)
        if bucket is None:
            raise StratoError(f"no bucket {name!r} is declared in app {app.name!r}")
        for watcher in bucket.watchers:
            dispatch.handle(watcher, {"Records": [record]}, app.usage)


def websocket_api(app: App) -> Any:
    apis = _of_kind(app, "websocket")
    wanted = os.environ.get("STRATO_WEBSOCKET")
    if wanted:
        apis = [w for w in apis if w.name == wanted]
    if len(apis) != 1:
        raise StratoError(f"app {app.name!r} has {len(apis)} matching WebSocket APIs; set STRATO_WEBSOCKET")
    return apis[0]


def websocket(app: App, event: dict[str, Any], context: Any) -> dict[str, Any]:
    from .dispatch.websocket import WebSocketDispatcher

    return WebSocketDispatcher(websocket_api(app)).handle(event, context)


def ws_authorizer(app: App, event: dict[str, Any], context: Any) -> dict[str, Any]:
    from .dispatch.websocket import WebSocketDispatcher

    return WebSocketDispatcher(websocket_api(app)).authorizer(event)


def find_schedule(app: App, event: dict[str, Any]) -> Any:
    wanted = _wanted()
    rule = (event.get("resources") or [""])[0].rsplit("/", 1)[-1]
    for schedule in app.schedules:
        physical = app.config.physical_name("schedule", schedule.name)
        if schedule.name == wanted or rule in (physical, schedule.name):
            return schedule
    raise StratoError(f"no schedule of app {app.name!r} matches rule {rule!r}")


def schedule(app: App, event: dict[str, Any], context: Any) -> Any:
    from .dispatch import schedule as dispatch

    return dispatch.handle(find_schedule(app, event), event, app.usage)


ENTRIES: dict[str, Entry] = {
    "http": http,
    "http_authorizer": http_authorizer,
    "sqs": sqs,
    "sns": sns,
    "dynamodb": dynamodb,
    "s3": s3,
    "websocket": websocket,
    "ws_authorizer": ws_authorizer,
    "schedule": schedule,
}


_logs_ready = False


def structured_logs() -> None:
    """Once per cold start: with ``STRATO_LOG_FORMAT=json`` (strato synth sets it on every function), the
    runtime's log handlers write one JSON object per line carrying the invocation's X-Ray trace id (from
    ``_X_AMZN_TRACE_ID``) and request id, for CloudWatch Logs Insights; otherwise the runtime's text lines."""
    global _logs_ready
    _logs_ready = True
    if os.environ.get("STRATO_LOG_FORMAT", "").strip().lower() != "json":
        return
    import logging

    from .trace.logs import JsonFormatter, TraceFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(TraceFilter())
        handler.setFormatter(JsonFormatter())


def handle(app: App, event: dict[str, Any], context: Any) -> Any:
    if not _logs_ready:
        structured_logs()
    if os.environ.get("STRATO_WORKFLOW_TASK"):  # a workflow's task function: its event is the task input
        from .workflow.task_functions import run

        return run(app, event, context)
    from .events import kind_of

    kind = kind_of(event)
    entry = ENTRIES.get(kind)
    if entry is None:
        keys = sorted(event)[:8] if isinstance(event, dict) else type(event).__name__
        raise ConfigurationError(f"app {app.name!r} cannot handle a {kind!r} event (keys: {keys})")
    return entry(app, event, context)
