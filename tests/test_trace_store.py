"""The local span store: a bounded ring in traces.db, written by a background thread in batches, read by
position and by trace, with live notification of new spans from this process and from others."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from strato.core.errors import ValidationError
from strato.trace import SpanStore, Tracer
from strato.trace.span import Span
from strato.trace.store import capacity_from_env
from tests.conftest import ROOT, wait_until


def _span(n: int, trace: str = "1-5759e988-bd862e3fe1be46a994272793", parent: str | None = None) -> Span:
    return Span(trace, f"{n:016x}", parent, "queue", "jobs", "work", "ok", 1_800_000_000 + n, 0.001, None, {"n": n})


def test_spans_round_trip_with_every_field(tmp_path):
    store = SpanStore(tmp_path)
    failed = Span("1-5759e988-bd862e3fe1be46a994272793", "a" * 16, "b" * 16, "http", "http", "GET /x", "error",
                  1_800_000_000.25, 0.5, "ValueError: bad", {"status": 500, "path": "/x"})  # fmt: skip
    store.add(failed)
    store.flush()
    (back,) = store.recent()
    assert back.as_dict() == {**failed.as_dict(), "seq": back.seq} and back.seq == 1
    store.close()


def test_the_ring_keeps_the_newest_capacity_spans(tmp_path):
    store = SpanStore(tmp_path, capacity=100, flush_every=60)
    for n in range(1, 351):
        store.add(_span(n))
        if n % 50 == 0:
            store.flush()
    kept = store.recent(limit=1000)
    assert len(kept) == 100  # whole batches are deleted later, but no read shows a span older than the ring
    assert kept[0].attributes == {"n": 350} and [s.seq for s in kept] == sorted((s.seq for s in kept), reverse=True)
    assert all(s.attributes["n"] > 248 for s in kept)
    store.close()


def test_paging_by_position_and_catch_up(tmp_path):
    store = SpanStore(tmp_path)
    for n in range(1, 26):
        store.add(_span(n))
    store.flush()
    first = store.recent(limit=10)
    second = store.recent(limit=10, before=first[-1].seq)
    third = store.recent(limit=10, before=second[-1].seq)
    assert [s.attributes["n"] for s in first + second + third] == list(range(25, 0, -1))
    assert [s.attributes["n"] for s in store.since(20)] == [21, 22, 23, 24, 25]
    assert store.last_seq() == 25
    store.close()


def test_a_trace_comes_back_in_start_order(tmp_path):
    store = SpanStore(tmp_path)
    other = "1-5759e988-000000000000000000000000"
    store.add(_span(3, parent=f"{2:016x}"))
    store.add(_span(1))
    store.add(_span(9, trace=other))
    store.add(_span(2, parent=f"{1:016x}"))
    store.flush()
    assert [s.attributes["n"] for s in store.trace("1-5759e988-bd862e3fe1be46a994272793")] == [1, 2, 3]
    assert store.trace("1-00000000-000000000000000000000000") == []
    store.close()


def test_adding_never_writes_on_the_callers_thread(tmp_path):
    store = SpanStore(tmp_path, flush_every=60)  # the writer thread will not run while we look
    tracer = Tracer([store.add])
    for _ in range(100):
        with tracer.span("http", "http", "GET /"):
            pass
    assert store.last_seq() == 0  # handed over in memory only
    assert store.flush() == 100 and store.last_seq() == 100
    store.close()


def test_the_writer_thread_flushes_by_itself(tmp_path):
    store = SpanStore(tmp_path, flush_every=0.05)
    store.add(_span(1))
    assert wait_until(lambda: store.last_seq() == 1, 10)
    store.close()


def test_a_flood_loses_the_oldest_pending_spans_not_memory(tmp_path):
    store = SpanStore(tmp_path, capacity=50, flush_every=60)
    for n in range(1, 1001):
        store.add(_span(n))
    assert store.flush() == 50
    assert {s.attributes["n"] for s in store.recent(limit=100)} == set(range(951, 1001))
    store.close()


def test_close_writes_what_is_pending(tmp_path):
    store = SpanStore(tmp_path, flush_every=60)
    store.add(_span(1))
    store.close()
    assert SpanStore(tmp_path).last_seq() == 1


SUBPROCESS_WRITER = """
import sys
from strato.trace import SpanStore
from strato.trace.span import Span
store = SpanStore(sys.argv[1])
for n in range(5):
    store.add(Span("1-5759e988-bd862e3fe1be46a994272793", f"{n:016x}", None, "queue", "jobs", "w", "ok", 1.0, 0.1))
store.close()
"""


def test_subscribers_hear_of_this_process_s_spans_and_another_process_s(tmp_path):
    store = SpanStore(tmp_path, flush_every=0.05)
    heard: list[Span] = []
    lock = threading.Lock()

    def listener(spans):
        with lock:
            heard.extend(spans)

    unsubscribe = store.subscribe(listener)
    store.add(_span(100))
    assert wait_until(lambda: len(heard) == 1, 10)
    out = subprocess.run([sys.executable, "-c", SUBPROCESS_WRITER, str(tmp_path)], cwd=ROOT, timeout=60)
    assert out.returncode == 0
    assert wait_until(lambda: len(heard) == 6, 10), heard
    assert [s.seq for s in heard] == list(range(1, 7))  # each once, in order
    unsubscribe()
    store.add(_span(101))
    store.flush()
    time.sleep(0.2)
    assert len(heard) == 6
    store.close()


def test_a_failing_subscriber_does_not_stop_the_others(tmp_path):
    store = SpanStore(tmp_path, flush_every=60)
    heard = []
    store.subscribe(lambda spans: 1 / 0)
    store.subscribe(heard.extend)
    store.add(_span(1))
    store.flush()
    assert len(heard) == 1
    store.close()


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5"])
def test_a_bad_ring_size_is_refused_with_its_name(monkeypatch, value):
    monkeypatch.setenv("STRATO_TRACE_SPANS", value)
    with pytest.raises(ValidationError, match="STRATO_TRACE_SPANS"):
        capacity_from_env()


def test_the_ring_size_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STRATO_TRACE_SPANS", "250")
    store = SpanStore(tmp_path)
    assert store.capacity == 250
    store.close()


@pytest.mark.parametrize("limit", [0, -1, 10_001, "5", True])
def test_a_bad_limit_is_refused(tmp_path, limit):
    store = SpanStore(tmp_path)
    with pytest.raises(ValidationError, match="limit"):
        store.recent(limit=limit)
    store.close()


def test_an_attribute_marshal_cannot_write_is_kept_as_text(tmp_path):
    store = SpanStore(tmp_path)
    odd = _span(1)
    odd.attributes = {"path": tmp_path, "n": 1}
    store.add(odd)
    store.add(_span(2))
    store.flush()
    assert [s.attributes for s in store.since(0)] == [{"path": str(tmp_path), "n": 1}, {"n": 2}]
    store.close()


def test_attributes_recorded_flat_come_back_as_a_dict(tmp_path):
    """The HTTP dispatcher records ``(name, value, ...)`` rather than a dict (cheaper on the request's path):
    readers see the same dict either way, and an odd value in a flat record is kept as text too."""
    store = SpanStore(tmp_path)
    tracer = Tracer()
    store.attach(tracer)
    span = tracer.start("http", "http", "GET /x")
    span._attributes = ("method", "GET", "status", 200, "path", "/x")
    tracer.finish(span)
    odd = tracer.start("http", "http", "GET /y")
    odd._attributes = ("path", tmp_path)
    tracer.finish(odd)
    assert span.attributes == {"method": "GET", "status": 200, "path": "/x"}  # the running span's view too
    store.flush()
    assert [s.attributes for s in store.since(0)] == [
        {"method": "GET", "status": 200, "path": "/x"},
        {"path": str(tmp_path)},
    ]
    store.close()


def test_a_batch_in_the_earlier_layout_is_still_read(tmp_path):
    """Batches written before December 2026 hold a tuple a span, later ones one flat list of fields: a
    data directory carried over keeps its traces."""
    import marshal

    store = SpanStore(tmp_path)
    fields = ("trace_id", "span_id", "parent_id", "kind", "resource", "handler", "outcome", "start", "duration")
    old = [tuple(_span(n).as_dict()[f] for f in (*fields, "error", "attributes")) for n in (1, 2)]
    with store.db.write() as conn:
        conn.execute("INSERT INTO span_blobs (first, last, spans) VALUES (1, 2, ?)", (marshal.dumps(old),))
    store.add(_span(3))
    store.flush()
    assert [(s.seq, s.attributes["n"]) for s in store.since(0)] == [(1, 1), (2, 2), (3, 3)]
    store.close()


def test_a_span_s_header_is_made_when_first_asked_for():
    tracer = Tracer()
    span = tracer.start(
        "queue", "jobs", "work", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    )
    assert span.header == f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent={span.span_id};Sampled=1"
    assert span.header is span.header and "running" in repr(span)
    tracer.finish(span)
    assert span.outcome == "ok" and span.as_dict()["seq"] == 0


def test_a_trace_shared_by_spans_of_many_batches_is_found_whole(tmp_path):
    store = SpanStore(tmp_path, flush_every=60)
    tracer = Tracer([store.add])
    with tracer.span("http", "http", "POST /") as entry:
        for _ in range(3):
            with tracer.span("queue", "jobs", "work"):
                pass
            store.flush()  # each child lands in its own batch, the entry in the last
        for n in range(50):
            store.add(_span(n, trace=f"1-5759e988-{n:024x}"))
    store.flush()
    found = store.trace(entry.trace_id)
    assert [s.kind for s in found] == ["http", "queue", "queue", "queue"]
    assert {s.parent_id for s in found[1:]} == {entry.span_id}
    store.close()


def test_a_new_span_file_has_big_pages_and_frees_without_zeroing(tmp_path):
    """A batch is one blob of overflow pages: 16 KB pages make its chain a quarter as long, and the
    pages of dropped batches are not zeroed (Debian's SQLite has SECURE_DELETE on by default)."""
    store = SpanStore(tmp_path, capacity=10)
    conn = store.db.conn
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 16384
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 0
    store.close()
    again = SpanStore(tmp_path, capacity=10)  # reopened: the file keeps its page size
    assert again.db.conn.execute("PRAGMA page_size").fetchone()[0] == 16384
    again.close()


def test_spans_recorded_by_many_threads_while_the_writer_cuts_are_stored_whole(tmp_path):
    """Tracers on several threads extend the flat list while the writer cuts whole spans off its front:
    every span arrives once, with its own fields, numbered without gaps."""
    store = SpanStore(tmp_path, capacity=100_000, flush_every=0.002)
    tracer = Tracer()
    store.attach(tracer)

    def work(k: int) -> None:
        for i in range(2000):
            tracer.finish(tracer.start("queue", f"q{k}", f"h{i}"))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.flush()
    spans = store.since(0, limit=100_000)
    assert [s.seq for s in spans] == list(range(1, 8001))
    assert sorted((s.resource, s.handler) for s in spans) == sorted(
        (f"q{k}", f"h{i}") for k in range(4) for i in range(2000)
    )
    assert all(s.outcome == "ok" and len(s.span_id) == 16 and s.trace_id.startswith("1-") for s in spans)
    store.close()
