"""An HTTP request's hop as ``strato dev`` dispatches it (``HttpDispatcher.handle_async``): recorded through
the store's ``record`` (what ``strato dev`` attaches) and, for a sink such as the OpenTelemetry exporter,
as a Span; both give the same fields, for every way a request ends.

X-Ray's header and ``Sampled``: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
"""

from __future__ import annotations

import asyncio

import pytest

import strato
from strato.events import LocalContext
from strato.local.handler_threads import HandlerThreads
from strato.trace import SpanStore, Tracer, context, install
from tests.conftest import gateway_event

INCOMING = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
UNSAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272794;Parent=53995c3f42cd8ad8;Sampled=0"


@pytest.fixture(params=["record", "sink"])
def traced(request, tmp_path):
    """A tracer writing to a fresh store the way ``strato dev`` does (``attach``), or through a sink."""
    store = SpanStore(tmp_path / "spans")
    tracer = Tracer()
    if request.param == "record":
        store.attach(tracer)
    else:
        tracer.sinks.append(store.add)
    tracer.answer_header = True
    previous = install(tracer)
    yield store
    install(previous)
    store.close()


@pytest.fixture
def app(make_app):
    app = make_app()
    api = app.http(timeout=0.3)
    app.seen = []

    @api.get("/hello/{name}")
    def hello(req, name):
        app.seen.append((strato.trace_id(), context.outgoing_header()))
        return {"hello": name}

    @api.get("/boom")
    async def boom(req):
        raise RuntimeError("the handler broke")

    @api.get("/slow")
    async def slow(req):
        await asyncio.sleep(5)

    return app


def _dispatch(app, path, header=None, cancel_after=None):
    headers = [("host", "127.0.0.1")] + ([("x-amzn-trace-id", header)] if header else [])
    event = gateway_event("GET", path, headers)
    threads = HandlerThreads(2)

    async def main():
        task = asyncio.ensure_future(app.http_dispatcher.handle_async(event, LocalContext("t", 0.3), threads.run))
        if cancel_after is not None:
            await asyncio.sleep(cancel_after)
            task.cancel()
        return await task

    try:
        return asyncio.run(main())
    finally:
        threads.close()


def _spans(store):
    store.flush()
    return [s for s in store.recent(100) if s.kind == "http"]


def test_a_request_continues_its_headers_trace_and_answers_with_its_own_span(app, traced):
    store = traced
    answer = _dispatch(app, "/hello/ann", INCOMING)
    assert answer["statusCode"] == 200
    (span,) = _spans(store)
    assert (span.trace_id, span.parent_id) == ("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8")
    assert (span.resource, span.handler, span.outcome, span.error) == ("http", "GET /hello/{name}", "ok", None)
    assert span.attributes == {"method": "GET", "status": 200, "path": "/hello/ann"}
    assert 0 <= span.duration < 5
    # the handler ran inside the hop; the answer names it as the Parent of what comes next
    assert app.seen == [(span.trace_id, f"Root={span.trace_id};Parent={span.span_id};Sampled=1")]
    assert context.parse(answer["headers"]["x-amzn-trace-id"]).span_id == span.span_id
    assert context.current() is None  # the previous context is back


def test_a_request_without_a_header_is_a_new_traces_entry(app, traced):
    store = traced
    _dispatch(app, "/hello/bo")
    (span,) = _spans(store)
    assert span.parent_id is None and context.valid_trace_id(span.trace_id)
    assert app.seen[0][0] == span.trace_id


def test_a_handler_error_is_the_hops_error(app, traced):
    store = traced
    answer = _dispatch(app, "/boom")
    assert answer["statusCode"] == 500
    (span,) = _spans(store)
    assert (span.outcome, span.error) == ("error", "RuntimeError: the handler broke")
    assert span.attributes["status"] == 500


def test_the_integration_timeout_is_the_hops_error(app, traced):
    store = traced
    answer = _dispatch(app, "/slow")
    assert answer["statusCode"] == 503
    (span,) = _spans(store)
    assert span.outcome == "error" and span.error.startswith("TimeoutError: handler exceeded the 0.3 s")


def test_a_cancelled_request_is_still_a_hop(app, traced):
    store = traced
    with pytest.raises(asyncio.CancelledError):
        _dispatch(app, "/slow", cancel_after=0.05)
    (span,) = _spans(store)
    assert (span.outcome, span.error) == ("cancelled", "CancelledError: ")
    assert context.current() is None


def test_sampled_zero_is_passed_on_and_not_recorded(app, traced):
    store = traced
    answer = _dispatch(app, "/hello/cy", UNSAMPLED)
    assert answer["statusCode"] == 200
    assert app.seen[0][1].endswith(";Sampled=0")  # what the handler sends on keeps the decision
    assert answer["headers"]["x-amzn-trace-id"].endswith(";Sampled=0")
    assert _spans(store) == []
