"""The local FIFO queue's rules under random traffic, checked against a model: a group's messages go out
in the order sent, nothing of a group goes out while one of its messages is in flight, a receive
finds a message whenever some group may hand one out, dead-lettering keeps a group's order, and
each group has exactly one head row (its first message), which is what receives walk."""

from __future__ import annotations

import random
import sqlite3

import pytest


def _heads_are_first_messages(conn) -> None:
    rows = conn.execute(
        "SELECT queue, grp, min(seq), sum(head), max(CASE WHEN head = 1 THEN seq END) "
        "FROM q_messages WHERE grp IS NOT NULL GROUP BY queue, grp"
    ).fetchall()
    for queue, group, first, heads, head_seq in rows:
        assert heads == 1 and head_seq == first, (queue, group, first, heads, head_seq)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fifo_rules_hold_under_random_traffic(make_app, seed):
    rnd = random.Random(seed)
    app = make_app()
    q = app.queue("orders", fifo=True, content_dedup=True, max_receive_count=3)
    assert q.dlq is not None
    conn = q.backend.store.db.conn
    pending: dict[str, list[str]] = {}  # group -> bodies not yet deleted or dead-lettered, in send order
    in_flight: dict[str, object] = {}  # body -> its Message, leased for 600 s
    receives: dict[str, int] = {}
    dead: list[str] = []
    sent = 0
    for _ in range(400):
        op = rnd.random()
        if op < 0.4:
            group = rnd.choice("ABCDEFG")
            body = f"{group}{sent}"
            sent += 1
            q.send(body, group=group)
            pending.setdefault(group, []).append(body)
        elif op < 0.75:
            limit = rnd.randint(1, 10)
            release = rnd.random() < 0.4  # visibility 0: received, but at once visible again
            busy = {m.group for m in in_flight.values()}  # type: ignore[attr-defined]
            available = {g for g, bodies in pending.items() if bodies and g not in busy}
            got = q.receive(limit, visibility_timeout=0 if release else 600)
            # a message received max_receive_count times went to the DLQ instead, from the front of its group
            moved = {r[0] for r in conn.execute("SELECT body FROM q_messages WHERE queue = ?", (q.dlq.name,))}
            for body in sorted(moved - set(dead), key=lambda b: int(b[1:])):
                assert receives[body] >= 3 and pending[body[0]][0] == body and body[0] in available
                dead.append(pending[body[0]].pop(0))
            assert len(got) <= limit
            seen: dict[str, int] = {}
            for message in got:
                assert message.group in available, (message.body, available)
                index = seen.get(message.group, 0)
                assert message.body == pending[message.group][index], "out of order within its group"
                seen[message.group] = index + 1
                receives[message.body] = receives.get(message.body, 0) + 1
                if not release:
                    in_flight[message.body] = message
            if any(pending[g] for g in available):
                assert got, "a group could hand out a message, the receive found none"
        elif op < 0.9 and in_flight:
            body = rnd.choice(sorted(in_flight))
            q.delete(in_flight.pop(body))
            pending[body[0]].remove(body)
        elif in_flight:
            body = rnd.choice(sorted(in_flight))
            q.change_visibility(in_flight.pop(body), 0)
        _heads_are_first_messages(conn)
    # what went to the DLQ is there, each group in order
    got = []
    while batch := q.dlq.receive(10, visibility_timeout=600):
        got += batch
        q.dlq.delete_batch(batch)
    by_group: dict[str, list[int]] = {}
    for message in got:
        by_group.setdefault(message.group, []).append(int(message.body[1:]))
    assert sorted(m.body for m in got) == sorted(dead)
    assert all(seqs == sorted(seqs) for seqs in by_group.values())


def test_a_group_blocked_by_a_later_message_in_flight(make_app):
    """Ending the lease of a group's first message while its second is still leased keeps the group
    blocked: its (visible) head must not go out before the leased message is done."""
    app = make_app()
    q = app.queue("orders", fifo=True, content_dedup=True)
    for body in ("a1", "a2"):
        q.send(body, group="a")
    q.send("b1", group="b")
    first = q.receive(2, visibility_timeout=600)
    assert [m.body for m in first] == ["a1", "a2"]
    q.change_visibility(first[0], 0)
    assert [m.body for m in q.receive(10, visibility_timeout=600)] == ["b1"]
    q.delete(first[1])
    assert [m.body for m in q.receive(10, visibility_timeout=600)] == ["a1"]


def test_expired_heads_are_replaced_by_the_sweep(make_app):
    app = make_app()
    q = app.queue("orders", fifo=True, content_dedup=True)
    for body in ("a1", "a2", "a3"):
        q.send(body, group="a")
    conn = q.backend.store.db.conn
    conn.execute("UPDATE q_messages SET expires_at = 0 WHERE body IN ('a1', 'a2')")
    q.backend._last_sweep = 0.0
    assert [m.body for m in q.receive(10)] == ["a3"]
    _heads_are_first_messages(conn)


def test_a_messaging_db_from_before_heads_is_migrated(make_app, tmp_path):
    """A file written by an older strato (no head column, q_receipt over every row) is brought up to date
    when opened: heads marked on each group's first message, indexes replaced."""
    path = tmp_path / "old" / "messaging.db"
    path.parent.mkdir()
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE q_messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, id TEXT NOT NULL,
            body TEXT NOT NULL, attributes TEXT NOT NULL, sent_at REAL NOT NULL, visible_at REAL NOT NULL,
            receive_count INTEGER NOT NULL DEFAULT 0, first_receive_at REAL, receipt TEXT, grp TEXT, dedup TEXT,
            expires_at REAL NOT NULL);
        CREATE INDEX q_receipt ON q_messages (receipt);
        """
    )
    for seq, group in enumerate(["x", "y", "x", "y"], 1):
        old.execute(
            "INSERT INTO q_messages (queue, id, body, attributes, sent_at, visible_at, grp, expires_at) "
            "VALUES ('orders', ?, ?, '{}', 0, 0, ?, 9e99)",
            (f"id{seq}", f"{group}{seq}", group),
        )
    old.commit()
    old.close()
    app = make_app()
    app.config.data_dir = path.parent
    q = app.queue("orders", fifo=True, content_dedup=True)
    assert [m.body for m in q.receive(10, visibility_timeout=600)] in (
        ["x1", "x3", "y2", "y4"],
        ["y2", "y4", "x1", "x3"],
    )
    conn = q.backend.store.db.conn
    _heads_are_first_messages(conn)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'q_receipt'").fetchone()[0]
    assert "WHERE receipt IS NOT NULL" in sql
