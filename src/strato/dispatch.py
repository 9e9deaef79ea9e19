"""Events to handlers: the one path both Lambda and the dev server run.

``HttpDispatcher.handle`` is what ``app.lambda_handler`` calls on AWS; ``handle_async`` is what
``strato dev`` awaits after building the same event from a real HTTP request. Everything between
(routing, CORS, the request object, error mapping, the response format) is shared.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import StratoError
from .http import HttpApi
from .http.request import Request
from .http.response import MAX_RESPONSE_BYTES, HTTPError, Response, error_body, to_lambda, to_response
from .http.routing import Route

RunSync = Callable[..., Awaitable[Any]]


def _log_exception(message: str) -> None:
    import logging  # only on the error path: keeps cold start lean

    logging.getLogger("strato").error(message, exc_info=sys.exc_info()[0] is not None)


def error_response(exc: BaseException) -> Response:
    """An exception as the JSON error a client should see; never a traceback."""
    if isinstance(exc, HTTPError):
        out = error_body(exc.status, exc.message)
        out.headers.update({k.lower(): v for k, v in exc.headers.items()})
        return out
    if isinstance(exc, StratoError) and (exc.status < 500 or exc.status in (501, 503)):
        return error_body(exc.status, exc.message, exc.code)
    _log_exception(f"unhandled error in handler: {exc!r}")
    return error_body(500, "Internal Server Error")


LAMBDA_GB = 0.5  # the memory strato synth gives functions


def count_invocation(app: Any, started: float) -> None:
    """One Lambda invocation and its GB-seconds (billed per millisecond), for `strato cost`."""
    import time

    usage = app.usage
    usage.add("lambda", "invocations", 1)
    usage.add("lambda", "gb_seconds", max(time.perf_counter() - started, 0.001) * LAMBDA_GB)


class HttpDispatcher:
    def __init__(self, api: HttpApi) -> None:
        self.api = api

    def resolve(self, event: dict[str, Any]) -> tuple[Route | None, dict[str, str], Response | None]:
        """The route for an event, or the response the gateway itself would give (404/405/preflight)."""
        method = event["requestContext"]["http"]["method"]
        headers = event.get("headers") or {}
        cors = self.api.cors
        if cors and method == "OPTIONS" and "access-control-request-method" in headers:
            found = cors.preflight(headers.get("origin"), headers.get("access-control-request-method"))
            return None, {}, Response(None, 204, found or {})
        route = self.api.router.by_key.get(event.get("routeKey", ""))
        params = event.get("pathParameters") or {}
        if route is None:
            route, params, allowed = self.api.router.match(method, event.get("rawPath", "/"))
        if route is not None:
            if route.options:
                from .http.authorizer import authorize

                denied = authorize(self.api.app, route.options, event)
                if denied is not None:
                    return None, {}, denied
            return route, params, None
        if allowed:
            out = error_body(405, "Method Not Allowed")
            out.headers["allow"] = ", ".join(sorted(set(allowed)))
            return None, {}, out
        return None, {}, error_body(404, "Not Found")

    def finish(self, event: dict[str, Any], response: Response) -> dict[str, Any]:
        headers = event.get("headers") or {}
        method = event["requestContext"]["http"]["method"]
        preflight = method == "OPTIONS" and "access-control-request-method" in headers
        if self.api.cors and not preflight:
            self.api.cors.apply(response.headers, headers.get("origin"))
        if event["requestContext"]["http"]["method"] == "HEAD":
            response.body = None
        try:
            out = to_lambda(response)
        except TypeError as exc:
            _log_exception(f"handler for {event.get('rawPath')} returned a body that is not JSON-serialisable: {exc}")
            return to_lambda(error_body(500, "Internal Server Error"))
        if len(out["body"]) > MAX_RESPONSE_BYTES:
            _log_exception(
                f"response of {len(out['body'])} bytes exceeds Lambda's {MAX_RESPONSE_BYTES}-byte "
                "payload limit; return a presigned bucket URL for large content"
            )
            return to_lambda(error_body(500, "Internal Server Error"))
        return out

    def _call(self, route: Route, event: dict, params: dict, context: Any) -> Any:
        request = Request(event, params, context)
        kwargs = {name: params[name] for name in route.kwargs if name in params}
        return route.handler(request, **kwargs)

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Synchronous dispatch, as inside Lambda (one event at a time)."""
        import time

        started = time.perf_counter()
        try:
            return self._handle(event, context)
        finally:
            self.api.app.usage.add("apigateway", "http_requests", 1)
            count_invocation(self.api.app, started)

    def _handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        route, params, early = self.resolve(event)
        if early is not None:
            return self.finish(event, early)
        try:
            result = self._call(route, event, params, context)
            if route.is_async:
                import asyncio

                result = asyncio.run(result)
            response = to_response(result)
        except Exception as exc:
            response = error_response(exc)
        return self.finish(event, response)

    async def handle_async(self, event: dict[str, Any], context: Any, run_sync: RunSync) -> dict[str, Any]:
        """Dispatch under an event loop: async handlers awaited, sync ones via ``run_sync`` (a thread)."""
        import asyncio
        import time

        started = time.perf_counter()
        self.api.app.usage.add("apigateway", "http_requests", 1)
        route, params, early = self.resolve(event)
        if early is not None:
            return self.finish(event, early)
        try:
            if route.is_async:
                pending = self._call(route, event, params, context)
            else:
                pending = run_sync(self._call, route, event, params, context)
            result = await asyncio.wait_for(pending, self.api.timeout)
            response = to_response(result)
        except TimeoutError:
            _log_exception(
                f"{route.key} did not answer within {self.api.timeout:g} s (API Gateway's "
                "integration timeout); the client got 503"
            )
            response = error_body(503, "Service Unavailable")
            response.headers["x-strato-error"] = f"handler exceeded the {self.api.timeout:g} s integration timeout"
        except Exception as exc:
            response = error_response(exc)
        count_invocation(self.api.app, started)
        return self.finish(event, response)


def _run(result: Any) -> Any:
    """Await a coroutine returned by an async handler when we are not on an event loop."""
    if hasattr(result, "__await__"):
        import asyncio

        return asyncio.run(result)
    return result


class StreamDispatcher:
    """DynamoDB Streams records to ``@table.on_change`` handlers, with partial batch failures by
    sequence number (the records after a failure are reported failed too, to keep per-key order)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def handle_stream(self, spec: Any, event: dict[str, Any]) -> dict[str, Any]:
        import time

        from .table.stream import ChangeRecord

        records = [ChangeRecord(r) for r in event.get("Records") or []]
        started = time.perf_counter()
        failures: list[str] = []
        try:
            if spec.batch:
                try:
                    failed = _run(spec.handler(records)) or []
                    failures = [getattr(r, "sequence", r) for r in failed]
                    if failures:
                        first = min(failures)
                        failures = [r.sequence for r in records if r.sequence >= first]
                except Exception:
                    _log_exception(f"change handler {spec.name} failed on a batch of {len(records)}")
                    failures = [r.sequence for r in records]
            else:
                for index, record in enumerate(records):
                    try:
                        _run(spec.handler(record))
                    except Exception:
                        _log_exception(f"change handler {spec.name} failed on {record.event} {record.keys}")
                        failures = [r.sequence for r in records[index:]]
                        break
        finally:
            count_invocation(self.app, started)
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failures]}

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        import os

        records = event.get("Records") or []
        if not records:
            return {"batchItemFailures": []}
        physical = records[0]["eventSourceARN"].split(":table/", 1)[1].split("/stream/", 1)[0]
        table = next(
            (
                t
                for t in self.app.resources.values()
                if getattr(t, "stream_handlers", None) and self.app.config.physical_name(t.kind, t.name) == physical
            ),
            None,
        )
        if table is None:
            raise StratoError(f"no table with change handlers matches stream of {physical!r}")
        wanted = os.environ.get("STRATO_HANDLER")
        handlers = [h for h in table.stream_handlers if not wanted or h.name == wanted]
        failures: list[dict[str, str]] = []
        for spec in handlers:
            failures += self.handle_stream(spec, event)["batchItemFailures"]
        return {"batchItemFailures": failures}


class BucketDispatcher:
    """S3 event notifications to ``@bucket.on_change`` handlers whose event kind and filters match."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def run_watcher(self, watcher: Any, event: dict[str, Any]) -> None:
        import time

        from .bucket import ObjectEvent

        started = time.perf_counter()
        try:
            for record in event.get("Records") or []:
                _run(watcher.handler(ObjectEvent(record)))
        finally:
            count_invocation(self.app, started)

    def handle(self, event: dict[str, Any], context: Any = None) -> None:
        from .bucket import ObjectEvent

        for record in event.get("Records") or []:
            change = ObjectEvent(record)
            bucket = next((b for b in self.app.buckets() if b.physical_name == change.bucket), None)
            if bucket is None:
                raise StratoError(f"no bucket {change.bucket!r} is declared in app {self.app.name!r}")
            for watcher in bucket.watchers:
                if watcher.wants(change.kind, change.key):
                    _run(watcher.handler(change))


class WebSocketDispatcher:
    """API Gateway WebSocket events to ``@ws`` handlers, returning what API Gateway expects back.

    ``$connect``: ``{"statusCode": 200}`` accepts (and registers the connection with the data the handler
    attached); an ``HTTPError`` or a ``False`` return rejects with its status. Message routes: a returned
    value is the body API Gateway sends back to the caller (two-way routes). Errors propagate, so the
    gateway answers the client with API Gateway's "Internal server error" frame.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def api_for(self, event: dict[str, Any]) -> Any:
        import os

        apis = self.app.websockets()
        wanted = os.environ.get("STRATO_WEBSOCKET")
        if wanted:
            apis = [w for w in apis if w.name == wanted]
        if len(apis) != 1:
            raise StratoError(f"app {self.app.name!r} has {len(apis)} matching WebSocket APIs; set STRATO_WEBSOCKET")
        return apis[0]

    def handle(self, event: dict[str, Any], context: Any = None, ws: Any = None) -> dict[str, Any]:
        import time

        ws = ws or self.api_for(event)
        started = time.perf_counter()
        try:
            return self._handle(event, ws)
        finally:
            count_invocation(self.app, started)

    def _authorize(self, ws: Any, event: dict[str, Any]) -> dict[str, Any] | None:
        """The token check of an ``auth=`` WebSocket API on $connect, as a REQUEST authorizer with identity
        sources ``route.request.querystring.token`` / ``route.request.header.Authorization`` would do it."""
        from .http.authorizer import Denied, check, claims_as_gateway_passes_them, connect_token, needs_token

        options = ws.auth_options
        if not needs_token(options):
            return None

        context = event.setdefault("requestContext", {})
        try:
            check(
                self.app,
                options,
                context,
                connect_token(event),
                context.get("authorizer"),
                lambda claims: {"principalId": claims["sub"], **claims_as_gateway_passes_them(claims)},
            )
        except Denied as denied:
            return {"statusCode": denied.status, "body": "Forbidden" if denied.status == 403 else "Unauthorized"}
        return None

    def authorizer(self, event: dict[str, Any]) -> dict[str, Any]:
        """The deployed $connect REQUEST authorizer: an Allow policy whose context carries the claims
        (they reach $connect as ``requestContext.authorizer``), a Deny policy (403) for a token without
        the API's groups, and API Gateway's "Unauthorized" (401) for no or a bad token."""
        from .http.authorizer import Denied, check, claims_as_gateway_passes_them, connect_token

        ws = self.api_for(event)
        context: dict[str, Any] = {}
        principal, effect = "anonymous", "Allow"
        try:
            check(self.app, ws.auth_options, context, connect_token(event), None, claims_as_gateway_passes_them)
            principal = context["authorizer"]["sub"]
        except Denied as denied:
            if denied.status == 401:
                raise Exception("Unauthorized") from None  # the exact text API Gateway maps to 401
            effect = "Deny"
        return {
            "principalId": principal,
            "context": context.get("authorizer", {}),
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
            },
        }

    def _handle(self, event: dict[str, Any], ws: Any) -> dict[str, Any]:
        from .http.response import HTTPError
        from .websocket import Connection, WsMessage, encode_payload

        if hasattr(ws.backend, "learn_endpoint"):
            ws.backend.learn_endpoint(event)
        route = event["requestContext"]["routeKey"]
        handler = ws.handlers.get(route)
        if route == "$connect":
            denied = self._authorize(ws, event)
            if denied is not None:
                return denied
            connection = Connection(ws, event)
            try:
                result = _run(handler(connection)) if handler else None
            except HTTPError as exc:
                return {"statusCode": exc.status, "body": exc.message}
            if result is False or (isinstance(result, int) and not isinstance(result, bool) and result >= 400):
                status = 403 if result is False else result
                return {"statusCode": status, "body": "Forbidden" if status == 403 else "Unauthorized"}
            ws.registry.add(connection.id, connection.source_ip, connection.user_agent, connection.data)
            return {"statusCode": 200}
        if route == "$disconnect":
            try:
                if handler:
                    _run(handler(WsMessage(ws, event)))
            finally:
                ws.registry.remove(event["requestContext"]["connectionId"])
            return {"statusCode": 200}
        handler = handler or ws.handlers.get("$default")
        if handler is None:
            raise StratoError(f"websocket {ws.name!r} has no handler for route {route!r} and no $default")
        result = _run(handler(WsMessage(ws, event)))
        if result is None:
            return {"statusCode": 200}
        import base64

        raw, text = encode_payload(result)
        return {
            "statusCode": 200,
            "body": raw.decode("utf-8") if text else base64.b64encode(raw).decode(),
            "isBase64Encoded": not text,
        }


class ScheduleDispatcher:
    """Scheduled events to ``@app.schedule`` handlers, found by rule name (or STRATO_HANDLER)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def find(self, event: dict[str, Any]) -> Any:
        import os

        wanted = os.environ.get("STRATO_HANDLER")
        rule = (event.get("resources") or [""])[0].rsplit("/", 1)[-1]
        for schedule in self.app.schedules:
            physical = self.app.config.physical_name("schedule", schedule.name)
            if schedule.name == wanted or rule in (physical, schedule.name):
                return schedule
        raise StratoError(f"no schedule of app {self.app.name!r} matches rule {rule!r}")

    def run(self, schedule: Any, event: dict[str, Any]) -> Any:
        import time

        code = getattr(schedule.handler, "__code__", None)
        takes_event = code is None or code.co_argcount > 0
        started = time.perf_counter()
        try:
            return _run(schedule.handler(event) if takes_event else schedule.handler())
        finally:
            count_invocation(self.app, started)

    def handle(self, event: dict[str, Any], context: Any = None) -> Any:
        return self.run(self.find(event), event)


class TopicDispatcher:
    """SNS events to topic handlers. An exception propagates, so Lambda (or the local delivery loop)
    retries the event as it would an asynchronous invocation."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def run_handler(self, handler: Any, event: dict[str, Any]) -> None:
        import time

        from .topic import Notification

        started = time.perf_counter()
        try:
            for record in event.get("Records") or []:
                _run(handler(Notification.from_record(record)))
        finally:
            count_invocation(self.app, started)

    def handle(self, event: dict[str, Any], context: Any = None) -> None:
        import os

        for record in event.get("Records") or []:
            topic_name = record["Sns"]["TopicArn"].rsplit(":", 1)[-1]
            topic = next((t for t in self.app.topics() if t.physical_name == topic_name), None)
            if topic is None:
                raise StratoError(f"no topic {topic_name!r} is declared in app {self.app.name!r}")
            handlers = [s for s in topic.declared if s.protocol == "lambda"]
            wanted = os.environ.get("STRATO_HANDLER")  # set per function by the deploy step
            if wanted:
                handlers = [s for s in handlers if s.arn.endswith(f":handler:{wanted}")]
            elif len(handlers) > 1:  # one function for all: run those whose filter accepts the message
                sns = record["Sns"]
                attrs = {
                    n: {"DataType": a["Type"], "StringValue": a["Value"]}
                    for n, a in (sns.get("MessageAttributes") or {}).items()
                }
                handlers = [s for s in handlers if s.accepts(sns["Message"], attrs)]
            for sub in handlers:
                self.run_handler(sub.handler, {"Records": [record]})


class QueueDispatcher:
    """SQS events to consumers, reporting partial batch failures as Lambda's ReportBatchItemFailures."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def consumer_for(self, arn: str) -> Any:
        name = arn.rsplit(":", 1)[-1]
        for queue in self.app.queues():
            if queue.consumers and queue.physical_name == name:
                return queue.consumers[0]
        raise StratoError(f"no consumer is declared for queue {name!r} in app {self.app.name!r}")

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        import time

        started = time.perf_counter()
        try:
            return self._handle(event)
        finally:
            count_invocation(self.app, started)

    def _handle(self, event: dict[str, Any]) -> dict[str, Any]:
        from .queue.message import Message

        records = event.get("Records") or []
        failures: list[str] = []
        if not records:
            return {"batchItemFailures": []}
        consumer = self.consumer_for(records[0].get("eventSourceARN", ""))
        messages = [Message.from_record(r) for r in records]
        if consumer.batch:
            try:
                failed = _run(consumer.handler(messages)) or []
                failures = [m.id if hasattr(m, "id") else str(m) for m in failed]
            except Exception:
                _log_exception(
                    f"batch consumer {consumer.handler.__qualname__} failed; all "
                    f"{len(messages)} messages will be retried"
                )
                failures = [m.id for m in messages]
        else:
            for index, message in enumerate(messages):
                try:
                    _run(consumer.handler(message))
                except Exception:
                    _log_exception(
                        f"consumer {consumer.handler.__qualname__} failed on message {message.id} "
                        f"(receive {message.receive_count})"
                    )
                    if consumer.queue.fifo:  # keep group order: the rest of the batch waits too
                        failures += [m.id for m in messages[index:]]
                        break
                    failures.append(message.id)
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}
