"""The queue contract, run unchanged against the SQLite provider and SQS on moto_server."""

from __future__ import annotations

import threading
import time

import pytest

import strato
from strato.queue import CAPABILITIES, MAX_MESSAGE_BYTES, Queue
from tests.conformance.absence import assert_absent, double_cases, lacking


@pytest.fixture(params=["local", "aws"])
def app(request, make_app):
    return make_app(request.param)


def drain(queue, expected: int, timeout: float = 5.0, **kwargs) -> list:
    """Receive until `expected` messages arrived (SQS may return fewer than asked per call)."""
    got, deadline = [], time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        got += queue.receive(10, wait=0.5, **kwargs)
    return got


def test_send_receive_delete_with_attributes(app):
    q = app.queue("work")
    attrs = {"kind": "email", "priority": 5, "ratio": 0.25, "blob": b"\x00\x01", "tags": ["a", "b"]}
    mid = q.send({"job": 1, "name": "ünïcode"}, attributes=attrs)
    q.send("plain text")
    got = drain(q, 2)
    assert len(got) == 2
    first = next(m for m in got if m.id == mid)
    assert first.json() == {"job": 1, "name": "ünïcode"}
    assert first.attributes == attrs
    assert first.receive_count == 1 and first.sent_at > time.time() - 60
    assert {m.body for m in got} == {'{"job":1,"name":"ünïcode"}', "plain text"}
    q.delete_batch(got)
    assert q.receive(wait=0) == []
    assert q.stats().depth == 0 and q.stats().in_flight == 0


def test_visibility_timeout_redelivers_and_counts_receives(app):
    q = app.queue("work", visibility_timeout=1)
    q.send("retry me")
    first = q.receive()
    assert len(first) == 1 and q.receive() == []
    stats = q.stats()
    assert stats.in_flight == 1 and stats.depth == 0
    time.sleep(1.3)
    again = q.receive()
    assert [m.id for m in again] == [first[0].id] and again[0].receive_count == 2
    q.change_visibility(again[0], 0)
    assert q.receive()[0].receive_count == 3


def test_change_visibility_of_a_deleted_message_fails(app):
    q = app.queue("work")
    q.send("x")
    m = q.receive()[0]
    q.change_visibility(m, 120)
    q.delete(m)
    with pytest.raises((strato.NotFound, strato.ValidationError)):
        q.change_visibility(m, 0)


def test_delay(app):
    q = app.queue("work")
    q.send("later", delay=1)
    q.send("now")
    assert [m.body for m in q.receive(10)] == ["now"]
    assert q.stats().delayed == 1
    time.sleep(1.3)
    assert [m.body for m in drain(q, 1)] == ["later"]
    delayed_queue = app.queue("slow", delay=1)
    delayed_queue.send("queue-level delay")
    assert delayed_queue.receive() == []


def test_long_poll_wakes_on_send(app):
    q = app.queue("work")
    q.backend.ensure() if app.config.provider == "aws" else None
    timer = threading.Timer(0.5, lambda: q.send("wake up"))
    started = time.monotonic()
    timer.start()
    got = q.receive(wait=5)
    assert [m.body for m in got] == ["wake up"]
    assert time.monotonic() - started < 4
    started = time.monotonic()
    assert q.receive(wait=1) == []
    assert time.monotonic() - started >= 0.9


def test_a_wait_under_a_second_still_long_polls(app):
    """SQS's WaitTimeSeconds is whole seconds (ReceiveMessage: 0 to 20); a wait of 0.5 s must not turn
    into a short poll (0), or a poller spins on empty, billed receives: it waits, here at least 0.5 s."""
    q = app.queue("idle")
    q.backend.ensure() if app.config.provider == "aws" else None
    started = time.monotonic()
    assert q.receive(wait=0.5) == []
    assert 0.45 <= time.monotonic() - started < 5


def test_batch_send_and_receive(app):
    q = app.queue("work")
    ids = q.send_batch([{"n": i} for i in range(10)])
    assert len(set(ids)) == 10
    got = drain(q, 10)
    assert sorted(m.json()["n"] for m in got) == list(range(10))
    with pytest.raises(strato.ValidationError):
        q.send_batch([{"n": i} for i in range(11)])
    with pytest.raises(strato.ValidationError):
        q.send_batch([])


def test_dead_letter_queue_and_redrive(app):
    q = app.queue("jobs", max_receive_count=2, visibility_timeout=0)
    q.send({"job": "poison"}, attributes={"kind": "bad"})
    assert len(q.receive()) == 1
    assert len(q.receive()) == 1
    assert q.receive() == []  # third receive moves it to the DLQ instead
    dead = drain(q.dlq, 1)
    assert [m.json() for m in dead] == [{"job": "poison"}]
    assert dead[0].attributes == {"kind": "bad"}
    q.dlq.change_visibility(dead[0], 0)
    assert q.stats().dlq_depth == 1
    assert q.redrive() == 1
    assert q.stats().dlq_depth == 0
    back = drain(q, 1)
    assert back[0].json() == {"job": "poison"} and back[0].attributes == {"kind": "bad"}


def test_fifo_groups_in_order_and_one_group_in_flight(app):
    q = app.queue("orders", fifo=True, content_dedup=True, visibility_timeout=30)
    for i in range(3):
        q.send({"a": i}, group="A")
    q.send({"b": 0}, group="B")
    first = q.receive(1)
    assert first[0].json() == {"a": 0} and first[0].group == "A"
    second = drain(q, 1)
    assert [m.json() for m in second] == [{"b": 0}]  # group A is busy until its message is done
    assert q.receive(10) == []
    q.delete(first[0])
    rest = drain(q, 2)
    assert [m.json() for m in rest] == [{"a": 1}, {"a": 2}]


def test_fifo_deduplication(app):
    q = app.queue("orders", fifo=True)
    q.send("once", group="g", dedup_id="d1")
    q.send("once again", group="g", dedup_id="d1")
    q.send("other", group="g", dedup_id="d2")
    assert [m.body for m in drain(q, 2)] == ["once", "other"]
    auto = app.queue("auto", fifo=True, content_dedup=True)
    auto.send("same body", group="g")
    auto.send("same body", group="g")
    assert [m.body for m in drain(auto, 1)] == ["same body"]
    assert auto.receive(wait=0.5) == []


def test_purge_and_stats(app):
    q = app.queue("work")
    q.send_batch(["a", "b", "c"])
    q.receive(1)
    stats = q.stats()
    assert (stats.depth, stats.in_flight, stats.delayed) == (2, 1, 0)
    if "oldest_age" in q.capabilities:
        assert stats.oldest_age is not None and stats.oldest_age >= 0
    else:
        assert stats.oldest_age is None
    q.purge()
    assert q.stats().depth == 0


@pytest.mark.parametrize(
    "body,error",
    [
        ("x" * (MAX_MESSAGE_BYTES + 1), strato.ItemTooLarge),
        ("", strato.ValidationError),
        ("bad \x00 char", strato.ValidationError),
        (b"bytes", strato.ValidationError),
        ({"set": {1, 2}}, strato.ValidationError),
    ],
)
def test_bad_bodies(app, body, error):
    q = app.queue("work")
    with pytest.raises(error):
        q.send(body)
    assert q.stats().depth == 0


def test_message_of_exactly_one_mib_is_accepted(app):
    q = app.queue("work")
    q.send("y" * MAX_MESSAGE_BYTES)
    assert len(drain(q, 1)[0].body) == MAX_MESSAGE_BYTES


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attributes": {f"a{i}": "v" for i in range(11)}},
        {"attributes": {"AWS.x": "v"}},
        {"attributes": {"bad name": "v"}},
        {"attributes": {"empty": ""}},
        {"attributes": {"flag": True}},
        {"delay": 901},
        {"delay": -1},
        {"group": "g"},
        {"dedup_id": "d"},
    ],
)
def test_bad_send_options(app, kwargs):
    with pytest.raises(strato.ValidationError):
        app.queue("work").send("x", **kwargs)


def test_bad_receive_options_and_fifo_rules(app):
    q = app.queue("work")
    for kwargs in ({"max_messages": 11}, {"max_messages": 0}, {"wait": 21}, {"visibility_timeout": 43_201}):
        with pytest.raises(strato.ValidationError):
            q.receive(**kwargs)
    fifo = app.queue("ordered", fifo=True)
    with pytest.raises(strato.ValidationError, match="group"):
        fifo.send("x", dedup_id="d")
    with pytest.raises(strato.ValidationError, match="dedup"):
        fifo.send("x", group="g")
    with pytest.raises(strato.ValidationError, match="FIFO"):
        fifo.send("x", group="g", dedup_id="d", delay=5)
    with pytest.raises(strato.ValidationError):
        q.delete("not-a-receipt")


def _sibling(q, name, **options):
    return Queue(q.ctx, name, provider=q.provider_name, **options)


#: one use of each capability (declaration-time ones on a sibling queue)
USES = {
    "fifo": lambda q: _sibling(q, "ordered", fifo=True, content_dedup=True).send("x", group="g"),
    "dlq": lambda q: _sibling(q, "retried", max_receive_count=3).stats(),
    "long_poll": lambda q: q.receive(1, wait=1),
    "delay": lambda q: q.send("later", delay=5),
    "oldest_age": lambda q: q.stats().oldest_age,
}
#: oldest_age is a field of stats(), not a call: SQS has no such attribute, so it reads None there, as before
SOFT = {"oldest_age"}
#: the same capability where a declaration uses it
ALSO = [("delay", lambda q: _sibling(q, "slow", delay=5).send("x"))]


def _state(q):
    stats = q.stats()
    return stats.depth, stats.in_flight, stats.delayed


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(app):
    q = app.queue("work")
    assert {"fifo", "dlq", "long_poll", "delay"} <= q.capabilities  # each exercised above
    assert_absent(q, USES, state=_state, soft=SOFT, also=ALSO)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "queue", missing, CAPABILITIES)
    q = make_app("local").queue("work")
    q.send("already there")
    assert assert_absent(q, USES, state=_state, soft=SOFT, also=ALSO) == lacks
    assert [m.body for m in q.receive(10)] == ["already there"]


def test_capabilities(app):
    q = app.queue("work")
    assert q.capabilities <= CAPABILITIES
    assert {"fifo", "dlq", "long_poll", "delay"} <= q.capabilities  # each exercised above
