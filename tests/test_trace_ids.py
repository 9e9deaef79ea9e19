"""What the tracer's cheap ids and the store's cheap buffer still promise: X-Ray-shaped ids (a trace id is
``1-{8 hex digits of Unix time}-{24 hex digits}``, a span id 16 hex digits unique within its trace:
https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html), and a span handed to
the store is kept whole."""

from __future__ import annotations

import os
import sys
import time

import pytest

from strato.trace import SpanStore, Tracer
from strato.trace.context import _hex, parse, valid_trace_id
from strato.trace.span import FIELDS


def test_new_traces_have_x_ray_ids_with_their_start_time_and_distinct_random_parts():
    tracer = Tracer()
    before = int(time.time())
    spans = [tracer.finish(tracer.start("http", "http", "GET /x")) for _ in range(2000)]
    after = int(time.time())
    assert all(valid_trace_id(s.trace_id) for s in spans)
    assert all(before <= int(s.trace_id[2:10], 16) <= after for s in spans)
    assert len({s.trace_id[11:] for s in spans}) == len(spans)  # 96 random bits each
    assert all(_hex(s.span_id, 16) for s in spans) and len({s.span_id for s in spans}) == len(spans)
    assert all(s.parent_id is None and s.sampled for s in spans)


def test_a_child_span_continues_its_parent_and_its_header_parses_back():
    tracer = Tracer()
    outer = tracer.start("http", "http", "GET /x")
    inner = tracer.start("queue", "jobs", "work")
    assert (inner.trace_id, inner.parent_id) == (outer.trace_id, outer.span_id) and inner.span_id != outer.span_id
    back = parse(inner.header)
    assert back is not None and (back.trace_id, back.span_id, back.sampled) == (inner.trace_id, inner.span_id, True)
    tracer.finish(inner)
    tracer.finish(outer)
    unsampled = tracer.start("queue", "jobs", "work", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")
    assert not unsampled.sampled and unsampled.header.endswith(";Sampled=0")
    tracer.finish(unsampled)


@pytest.mark.parametrize("how", ["attach", "sink"])
def test_a_finished_span_waits_for_the_writer_as_its_fields_and_is_stored_whole(tmp_path, how):
    store = SpanStore(tmp_path, flush_every=60)
    tracer = Tracer([store.add] if how == "sink" else [])
    if how == "attach":  # what strato dev and strato worker do: Tracer.record is the list's extend
        store.attach(tracer)
    with tracer.span("http", "http", "GET /x") as active:
        active.attributes.update(method="GET", status=200, path="/x")
    refs = sys.getrefcount(active)
    waiting = store._pending  # the fields, not the Span: nothing holds on to the request's object
    assert sys.getrefcount(active) == refs and not any(field is active for field in waiting)
    assert waiting == [getattr(active, name) for name in FIELDS]
    assert store.flush() == 1 and not store._pending
    (back,) = store.recent()
    assert [getattr(back, name) for name in FIELDS] == [getattr(active, name) for name in FIELDS]
    assert back.attributes == {"method": "GET", "status": 200, "path": "/x"} and back.outcome == "ok"
    store.close()


def test_ids_drawn_in_a_forked_child_are_not_its_parents(tmp_path):
    """Ids come from pools drawn ahead of time: a child forked with a pool half used must draw its own."""
    tracer = Tracer()
    tracer.finish(tracer.start("http", "http", "GET /x"))  # the pools now hold ids the parent will use
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        span = tracer.finish(tracer.start("http", "http", "GET /x"))
        os.write(write, f"{span.trace_id} {span.span_id}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_trace, child_span = pipe.read().split()
    os.waitpid(pid, 0)
    mine = [tracer.finish(tracer.start("http", "http", "GET /x")) for _ in range(50)]
    assert child_trace[11:] not in {s.trace_id[11:] for s in mine}
    assert child_span not in {s.span_id for s in mine}


@pytest.mark.parametrize("raised", [ValueError("bad input"), KeyboardInterrupt()])
def test_a_span_block_records_what_ended_it_and_lets_it_through(raised):
    """``with tracer.span(...)``: the block's exception, whatever its kind, is the span's error and still
    reaches the caller; the block's own span is the current one inside it, and the outer one after."""
    from strato.trace import context

    finished = []
    tracer = Tracer([finished.append])
    with tracer.span("http", "http", "GET /outer") as outer:
        with pytest.raises(type(raised)), tracer.span("queue", "jobs", "work") as inner:
            assert context.current() is inner and inner.parent_id == outer.span_id
            raise raised
        assert context.current() is outer
    assert [(s.handler, s.outcome) for s in finished] == [("work", "error"), ("GET /outer", "ok")]
    assert finished[0].error == f"{type(raised).__name__}: {raised}" and context.current() is None


SENT = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class _Message:
    def __init__(self, trace):
        self.trace = trace


@pytest.mark.parametrize("how", ["attach", "sink"])
def test_a_span_per_item_continues_each_items_trace_and_records_its_outcome(tmp_path, how):
    """``Tracer.each`` (a queue consumer's span a message): in line when spans go to the store's list,
    through Span objects when a sink (OpenTelemetry) wants them; the same spans either way."""
    from strato.trace import context

    store = SpanStore(tmp_path, flush_every=60)
    tracer = Tracer([store.add] if how == "sink" else [])
    if how == "attach":
        store.attach(tracer)
    seen = []

    def work(message):
        seen.append(context.current())
        if message.trace and message.trace.endswith("Sampled=0"):
            return None
        if message.trace and "Parent=1111" in message.trace:
            raise ValueError("no")
        return "done" if message.trace else None

    settled = []
    wrapped = tracer.each(work, "queue", "jobs", "work", lambda m: m.trace, lambda r: settled.append(r) or r)
    assert wrapped(_Message(SENT)) == "done" and settled == ["done"]
    with pytest.raises(ValueError):
        wrapped(_Message("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=1111111111111111;Sampled=1"))
    unsampled = "Root=1-5759e988-00000000000000000000000a;Parent=53995c3f42cd8ad8;Sampled=0"
    assert wrapped(_Message(unsampled)) is None
    assert wrapped(_Message(None)) is None  # sent outside any trace: a new one
    with tracer.span("http", "http", "GET /x") as outer:  # no header inside a span: the span's trace
        wrapped(_Message(None))
    assert context.current() is None
    first, failed, quiet, fresh, inner = seen
    assert (first.trace_id, first.sampled) == ("1-5759e988-bd862e3fe1be46a994272793", True)
    assert context.parse(first.header).span_id == first.span_id != "53995c3f42cd8ad8"
    assert failed.trace_id == first.trace_id and not quiet.sampled
    assert valid_trace_id(fresh.trace_id) and fresh.trace_id != first.trace_id
    assert inner.trace_id == outer.trace_id
    store.flush()
    spans = {s.span_id: s for s in store.recent()}
    assert quiet.span_id not in spans  # Sampled=0: passed on, not recorded
    got = [spans[c.span_id] for c in (first, failed, fresh, inner)]
    assert [(s.parent_id, s.outcome, s.error) for s in got] == [
        ("53995c3f42cd8ad8", "ok", None),
        ("1111111111111111", "error", "ValueError: no"),
        (None, "ok", None),
        (outer.span_id, "ok", None),
    ]
    assert all((s.kind, s.resource, s.handler) == ("queue", "jobs", "work") and s.duration >= 0 for s in got)
    store.close()


def test_headers_in_other_forms_still_parse():
    """The sent form is matched in one call; any other valid form goes the long way (upper-case hex is
    read as lower case, fields may come in another order)."""
    upper = parse(SENT.upper().replace("ROOT=", "Root=").replace("PARENT=", "Parent=").replace("SAMPLED=", "Sampled="))
    assert upper is not None and (upper.trace_id, upper.span_id) == (parse(SENT).trace_id, parse(SENT).span_id)
    moved = parse("Sampled=0;Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793")
    assert moved is not None and not moved.sampled and moved.span_id == "53995c3f42cd8ad8"
    assert parse(SENT[:-1] + "2") is not None  # Sampled=2: the long way, which reads it as sampled
