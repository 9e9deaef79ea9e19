"""A trace followed hop by hop: HTTP -> queue -> consumer -> topic -> subscriber -> WebSocket push, through
``strato dev`` and a ``strato worker`` in another process, and through moto-backed SQS (AWSTraceHeader).

X-Ray's header: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
SQS's AWSTraceHeader system attribute: https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from websockets.sync.client import connect

import strato
from strato.local.worker import Worker
from strato.trace import SpanStore, context, parse
from tests import trace_support
from tests.conftest import ROOT, moto_gap, start_dev_server, stop, wait_until

traced = trace_support.traced  # the shared fixture

INCOMING = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
ROOT_ID = "1-5759e988-bd862e3fe1be46a994272793"


def _worker(data, env=None):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strato.cli",
            "worker",
            "tests/apps/traced_app.py",
            "--data",
            str(data),
            "--poll-wait",
            "0.2",
        ],
        cwd=ROOT,
        env={**os.environ, "STRATO_PROVIDER": "local", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_one_trace_from_http_through_a_worker_process_to_a_websocket_push(tmp_path):
    data = tmp_path / "data"
    server = start_dev_server("tests/apps/traced_app.py", data, "--no-worker", env={"STRATO_TRACE_HEADER": "1"})
    worker = _worker(data)
    try:
        assert b"strato worker" in worker.stderr.readline()
        ws_url = server.url.replace("http://", "ws://") + "/ws/live"
        with connect(ws_url, open_timeout=10) as client:
            response = httpx.post(f"{server.url}/jobs", json={"id": "j1"}, headers={"X-Amzn-Trace-Id": INCOMING})
            assert response.status_code == 202
            assert response.json() == {"trace": ROOT_ID}  # the incoming header is honoured
            answered = parse(response.headers["x-amzn-trace-id"])  # asked for with STRATO_TRACE_HEADER=1
            assert answered is not None and answered.trace_id == ROOT_ID
            pushed = json.loads(client.recv(timeout=30))
        assert pushed == {"job": "j1", "trace": ROOT_ID}  # the subscriber ran in the same trace

        store = SpanStore(data)
        assert wait_until(lambda: len(store.trace(ROOT_ID)) >= 4, 15), [s.as_dict() for s in store.trace(ROOT_ID)]
        spans = {s.kind: s for s in store.trace(ROOT_ID)}
        http, queue, topic, push = spans["http"], spans["queue"], spans["topic"], spans["websocket.send"]
        assert answered.span_id == http.span_id  # the header names the request's own span
        # each hop is the child of the one before, across two processes and two SQLite hand-overs
        assert http.parent_id == "53995c3f42cd8ad8"
        assert queue.parent_id == http.span_id and topic.parent_id == queue.span_id
        assert push.parent_id == topic.span_id
        assert (http.resource, http.handler, http.attributes["status"]) == ("http", "POST /jobs", 202)
        assert (queue.resource, queue.handler, queue.outcome) == ("jobs", "work", "ok")
        assert (topic.resource, topic.handler, topic.outcome) == ("events", "notify", "ok")
        assert push.resource == "live" and push.outcome == "ok"
        assert all(s.duration >= 0 and s.start > time.time() - 120 for s in spans.values())
        assert http.start <= queue.start <= topic.start <= push.start
        store.close()
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
        stop(server.proc)
    # the consumer's log line carries the trace id
    assert f"working on j1 [trace {ROOT_ID}]" in err.decode(), err.decode()


def test_a_request_without_a_header_starts_a_fresh_trace_and_a_bad_header_is_ignored(tmp_path):
    data = tmp_path / "data"
    server = start_dev_server("tests/apps/traced_app.py", data, "--no-worker")
    try:
        answer = httpx.post(f"{server.url}/jobs", json={"id": "a"})
        # an API Gateway HTTP API answers with no X-Ray header (X-Ray traces REST APIs only), nor does
        # strato dev unless STRATO_TRACE_HEADER=1 asks for it
        assert "x-amzn-trace-id" not in answer.headers
        first = answer.json()["trace"]
        bad = httpx.post(f"{server.url}/jobs", json={"id": "b"}, headers={"X-Amzn-Trace-Id": "Root=nonsense"})
        second = bad.json()["trace"]
        assert context.valid_trace_id(first) and context.valid_trace_id(second) and first != second
        # X-Ray: the first 8 hex digits after "1-" are the start time, in seconds
        assert abs(int(first.split("-")[1], 16) - time.time()) < 120
        store = SpanStore(data)
        assert wait_until(lambda: len(store.trace(second)) == 1, 10)
        assert store.trace(second)[0].parent_id is None  # the trace's entry
        store.close()
    finally:
        stop(server.proc)


def test_strato_trace_off_records_nothing(tmp_path):
    data = tmp_path / "data"
    server = start_dev_server("tests/apps/traced_app.py", data, "--no-worker", env={"STRATO_TRACE": "0"})
    try:
        response = httpx.post(f"{server.url}/jobs", json={"id": "a"})
        assert response.status_code == 202 and "x-amzn-trace-id" not in response.headers
    finally:
        stop(server.proc)
    assert SpanStore(data).last_seq() == 0


def _consume(app, queue, handler, count):
    queue.consumer(batch_size=10)(handler)
    worker = Worker(app, poll_wait=0.2).start()
    return worker


def _received(queue, count, provider):
    received = []
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        received += queue.receive(10, wait=1 if provider == "aws" else 0)
    return received


@pytest.mark.parametrize("provider", ["local", "aws"])
def test_a_queue_message_carries_the_senders_trace_in_AWSTraceHeader(make_app, provider, traced):
    tracer, store = traced
    app = make_app(provider)
    jobs = app.queue("jobs")
    got = []

    with tracer.span("http", "http", "POST /jobs") as entry:
        jobs.send({"n": 1})
        jobs.send({"n": 2}, delay=0)
    received = _received(jobs, 2, provider)
    assert len(received) == 2
    for message in received:
        header = parse(message.trace)
        assert header is not None, message
        assert (header.trace_id, header.span_id) == (entry.trace_id, entry.context.span_id)
    # the consumer (the event source mapping's record) continues it
    for message in received:
        jobs.change_visibility(message, 0)
    worker = _consume(app, jobs, lambda m: got.append((m.json()["n"], strato.trace_id())), 2)
    try:
        assert wait_until(lambda: len(got) == 2, 20)
    finally:
        worker.stop(5)
    assert {trace for _, trace in got} == {entry.trace_id}
    store.flush()
    consumers = [s for s in store.trace(entry.trace_id) if s.kind == "queue"]
    assert len(consumers) == 2 and {s.parent_id for s in consumers} == {entry.context.span_id}


@pytest.mark.parametrize("provider", ["local", "aws"])
def test_a_batch_send_carries_the_trace_on_every_message(make_app, provider, traced, request):
    # SendMessageBatchRequestEntry has MessageSystemAttributes (AWSTraceHeader) as SendMessage does:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatchRequestEntry.html
    moto_gap(request, provider, "SendMessageBatch drops the entries' MessageSystemAttributes (AWSTraceHeader)")
    tracer, _ = traced
    jobs = make_app(provider).queue("jobs")
    with tracer.span("http", "http", "POST /jobs") as entry:
        jobs.send_batch([{"n": 2}, {"n": 3}])
    received = _received(jobs, 2, provider)
    assert len(received) == 2
    assert [parse(m.trace).trace_id if m.trace else None for m in received] == [entry.trace_id] * 2


def test_a_message_sent_outside_any_trace_has_no_header_and_its_consumer_starts_one(make_app, traced):
    _, store = traced
    app = make_app("local")
    jobs = app.queue("jobs")
    jobs.send({"n": 1})
    got = []
    worker = _consume(app, jobs, lambda m: got.append((m.trace, strato.trace_id())), 1)
    try:
        assert wait_until(lambda: got, 10)
    finally:
        worker.stop(5)
    assert got[0][0] is None and context.valid_trace_id(got[0][1])
    store.flush()
    assert store.trace(got[0][1])[0].parent_id is None


def test_a_failing_hop_is_a_span_with_its_error(make_app, traced):
    tracer, store = traced
    app = make_app("local")
    jobs = app.queue("jobs", visibility_timeout=600)

    def fail(message):
        raise ValueError("no such job")

    with tracer.span("http", "http", "POST /jobs") as entry:
        jobs.send({"n": 1})
    worker = _consume(app, jobs, fail, 1)
    try:
        assert wait_until(lambda: (store.flush() or True) and len(store.trace(entry.trace_id)) == 2, 10)
    finally:
        worker.stop(5)
    hop = store.trace(entry.trace_id)[1]
    assert (hop.kind, hop.outcome, hop.error) == ("queue", "error", "ValueError: no such job")


def test_sqs_redrive_keeps_the_trace(make_app, traced):
    tracer, _ = traced
    app = make_app("local")
    jobs = app.queue("jobs", max_receive_count=1, visibility_timeout=0)
    with tracer.span("http", "http", "POST /jobs") as entry:
        jobs.send({"n": 1})
    jobs.receive(1)
    jobs.receive(1)  # over max_receive_count: dead-lettered
    assert jobs.redrive() == 1
    assert parse(jobs.receive(1)[0].trace).trace_id == entry.trace_id


def test_a_topic_delivers_the_publishers_trace_to_queues_and_handlers(make_app, traced):
    tracer, store = traced
    app = make_app("local")
    events = app.topic("events")
    inbox = app.queue("inbox")
    events.subscribe_queue(inbox)
    heard = []
    events.subscribe()(lambda note: heard.append(strato.trace_id()))
    with tracer.span("schedule", "nightly", "run") as entry:
        events.publish({"n": 1})
    assert parse(inbox.receive(1)[0].trace).trace_id == entry.trace_id
    assert events.backend.deliver_due() == 1
    assert heard == [entry.trace_id]
    store.flush()
    hop = [s for s in store.trace(entry.trace_id) if s.kind == "topic"]
    assert len(hop) == 1 and hop[0].parent_id == entry.context.span_id and hop[0].resource == "events"


def test_outside_lambda_and_any_span_there_is_no_trace(monkeypatch):
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    assert strato.trace_id() is None and context.outgoing_header() is None


def test_inside_lambda_the_runtimes_trace_is_current(monkeypatch):
    # the Lambda runtime sets _X_AMZN_TRACE_ID per invocation:
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
    monkeypatch.setenv("_X_AMZN_TRACE_ID", INCOMING)
    monkeypatch.setattr(context, "IN_LAMBDA", True)  # read from AWS_LAMBDA_FUNCTION_NAME when strato loads
    assert strato.trace_id() == ROOT_ID
    assert context.outgoing_header() == INCOMING


def test_a_lambda_sqs_record_s_AWSTraceHeader_is_the_consumer_s_parent(make_app, traced):
    # Lambda's SQS event carries the header among the record's system attributes:
    # https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (example event: "AWSTraceHeader")
    _, store = traced
    app = make_app("local")
    jobs = app.queue("jobs")
    heard = []
    jobs.consumer()(lambda message: heard.append((message.trace, strato.trace_id())))
    from strato.queue.message import Message

    record = Message("m1", "{}", "r1", {}, 1, 1.0, 1.0, None, None, "jobs", INCOMING).to_record(jobs.arn, "us-east-1")
    assert record["attributes"]["AWSTraceHeader"] == INCOMING
    assert app.lambda_handler({"Records": [record]}, None) == {"batchItemFailures": []}
    assert heard == [(INCOMING, ROOT_ID)]
    store.flush()
    (span,) = store.trace(ROOT_ID)
    assert (span.kind, span.resource, span.parent_id) == ("queue", "jobs", "53995c3f42cd8ad8")
