"""Each kind of hop continues the trace that caused it: change-stream records, bucket events, workflow
executions, schedule firings (a new trace), WebSocket events; and log lines name the trace.

X-Ray's header: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
"""

from __future__ import annotations

import io
import json
import logging

import pytest

import strato
from strato.testing.drain import Drain
from strato.trace import JsonFormatter, TraceFilter, context, parse
from strato.trace.logs import TraceSuffix
from tests import trace_support
from tests.workflows import machine

traced = trace_support.traced  # the shared fixture


@pytest.fixture
def app(make_app):
    return make_app("local")


def _hops(store, trace_id, kind):
    store.flush()
    return [s for s in store.trace(trace_id) if s.kind == kind]


def test_a_change_record_continues_the_writers_trace(app, traced):
    tracer, store = traced
    notes = app.table("notes", key="id")
    heard = []
    notes.on_change()(lambda record: heard.append((record.event, record.trace, strato.trace_id())))
    drain = Drain(app)
    with tracer.span("http", "http", "PUT /notes") as entry:
        notes.put({"id": "a"})
    notes.put({"id": "b"})  # outside any trace: its handler starts one
    drain()
    assert heard[0][0] == "INSERT" and parse(heard[0][1]).trace_id == entry.trace_id
    assert heard[0][2] == entry.trace_id
    assert heard[1][1] is None and heard[1][2] not in (None, entry.trace_id)
    (hop,) = _hops(store, entry.trace_id, "stream")
    assert (hop.parent_id, hop.resource, hop.handler) == (entry.context.span_id, "notes", "notes:<lambda>")


def test_a_bucket_event_continues_the_writers_trace(app, traced):
    tracer, store = traced
    files = app.bucket("files")
    heard = []
    files.on_change(events=["created"])(lambda event: heard.append((event.key, strato.trace_id())))
    drain = Drain(app)
    with tracer.span("http", "http", "PUT /files") as entry:
        files.put("a.txt", b"hello")
    drain()
    assert heard == [("a.txt", entry.trace_id)]
    (hop,) = _hops(store, entry.trace_id, "bucket")
    assert hop.parent_id == entry.context.span_id and hop.outcome == "ok"


def test_a_workflow_execution_continues_the_starters_trace(app, traced):
    tracer, store = traced
    wf = app.workflow("flow", definition=machine(("T", {"Type": "Task", "Resource": "Work", "End": True})))
    heard = []

    @wf.task("Work")
    def work(event):
        heard.append(strato.trace_id())
        return {"ok": True}

    with tracer.span("http", "http", "POST /flows") as entry:
        wf.start({})
    Drain(app)()
    assert heard == [entry.trace_id]
    (hop,) = _hops(store, entry.trace_id, "workflow")
    assert (hop.parent_id, hop.resource, hop.handler, hop.outcome) == (entry.context.span_id, "flow", "T", "ok")
    assert hop.attributes["execution"].startswith("arn:aws:states:")


def test_a_failing_workflow_task_is_an_error_span(app, traced):
    tracer, store = traced
    wf = app.workflow("broken", definition=machine(("T", {"Type": "Task", "Resource": "Work", "End": True})))
    wf.task("Work")(lambda event: 1 / 0)
    with tracer.span("http", "http", "POST /flows") as entry:
        wf.start({})
    Drain(app)()
    (hop,) = _hops(store, entry.trace_id, "workflow")
    assert hop.outcome == "error" and "ZeroDivisionError" in hop.error


def test_a_schedule_firing_starts_a_trace(app, traced):
    from strato.dispatch import schedule as dispatch

    _, store = traced
    heard = []

    @app.schedule("rate(1 hour)")
    def hourly():
        heard.append(strato.trace_id())

    (declared,) = app.schedules
    dispatch.handle(declared, {"source": "aws.events"}, app.usage)
    store.flush()
    (span,) = store.trace(heard[0])
    assert (span.kind, span.parent_id, span.outcome) == ("schedule", None, "ok")


def test_a_websocket_event_honours_its_connect_header(app, traced):
    from strato.dispatch.websocket import WebSocketDispatcher

    _, store = traced
    live = app.websocket("live")
    heard = []
    live.on_connect(lambda conn: heard.append(strato.trace_id()))
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    event = {
        "requestContext": {"routeKey": "$connect", "connectionId": "abc=", "eventType": "CONNECT",
                           "identity": {"sourceIp": "127.0.0.1"}, "domainName": "x", "stage": "local"},
        "headers": {"X-Amzn-Trace-Id": header},
        "isBase64Encoded": False,
    }  # fmt: skip
    assert WebSocketDispatcher(live).handle(event)["statusCode"] == 200
    assert heard == ["1-5759e988-bd862e3fe1be46a994272793"]
    store.flush()
    (span,) = store.trace(heard[0])
    assert (span.kind, span.resource, span.handler, span.parent_id) == (
        "websocket",
        "live",
        "$connect",
        "53995c3f42cd8ad8",
    )


def test_sampled_zero_is_passed_on_and_not_recorded(traced):
    tracer, store = traced
    with tracer.span("http", "http", "GET /", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0") as entry:
        assert context.outgoing_header().endswith(";Sampled=0")
    store.flush()
    assert store.trace(entry.trace_id) == []


@pytest.mark.parametrize(
    "header",
    [
        "Root=1-5759e988-bd862e3fe1be46a99427279;Sampled=1",  # 23 hex digits
        "Root=2-5759e988-bd862e3fe1be46a994272793",  # version 2 does not exist
        "Root=1-5759E988-bd862e3fe1be46a994272793Z",
        "Parent=53995c3f42cd8ad8;Sampled=1",  # no Root
        "x" * 600,
        "",
    ],
)
def test_a_malformed_header_is_not_a_trace(header):
    assert parse(header) is None


def test_a_header_with_extra_fields_parses():
    found = parse("Root=1-5759e988-bd862e3fe1be46a994272793; Parent=53995c3f42cd8ad8 ;Sampled=?;Lineage=a:1")
    assert (found.trace_id, found.span_id, found.sampled) == (
        "1-5759e988-bd862e3fe1be46a994272793",
        "53995c3f42cd8ad8",
        True,
    )


def test_log_lines_carry_the_trace_id_as_text_and_as_json(traced):
    tracer, _ = traced
    text, lines = io.StringIO(), io.StringIO()
    plain = logging.StreamHandler(text)
    plain.addFilter(TraceFilter())
    plain.setFormatter(TraceSuffix(logging.Formatter("%(levelname)s %(message)s")))
    structured = logging.StreamHandler(lines)
    structured.addFilter(TraceFilter())
    structured.setFormatter(JsonFormatter())
    log = logging.getLogger("test.trace.lines")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(plain)
    log.addHandler(structured)
    try:
        with tracer.span("queue", "jobs", "work") as active:
            log.info("inside %s", "the span")
            try:
                raise KeyError("k")
            except KeyError:
                log.exception("failed")
        log.info("outside")
    finally:
        log.removeHandler(plain)
        log.removeHandler(structured)
    first, second, third = (json.loads(line) for line in lines.getvalue().splitlines())
    assert first["message"] == "inside the span" and first["trace_id"] == active.trace_id
    assert first["span_id"] == active.context.span_id and first["level"] == "INFO" and first["time"].endswith("Z")
    assert "KeyError: 'k'" in second["exception"] and second["trace_id"] == active.trace_id
    assert "trace_id" not in third
    assert text.getvalue().startswith(f"INFO inside the span [trace {active.trace_id}]\n")
    assert text.getvalue().endswith("INFO outside\n")
