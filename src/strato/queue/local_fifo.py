"""Which messages a local FIFO queue may hand out, in time that does not grow with its depth.

SQS FIFO rules: a message group's messages go out in the order they were sent, and none of a group
goes out while one of its messages is in flight. Every message group has one "head" row (its
lowest ``seq``, ``head = 1``, kept by ``runtime.messaging.fix_head``), so a receive walks only the
visible heads, earliest visible first (the q_heads index), checks each group for a message in flight
(the q_leased index), and takes that group's messages in order while they are visible (q_group).
A scan of every message by ``seq`` did the same in time proportional to the queue's depth.

Across groups, a group comes up when its head became visible, and a batch takes as many messages of
one group as it can before the next group, as SQS does ("SQS first attempts to return as many
messages with the same message group ID as possible").
"""

from __future__ import annotations

from typing import Any

COLUMNS = "seq, id, body, attributes, sent_at, receive_count, first_receive_at, grp, dedup, expires_at, trace"


def candidates(conn: Any, queue: str, now: float, limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` messages that may be leased now, a group's in order, as COLUMNS tuples."""
    picked: list[tuple[Any, ...]] = []
    heads = conn.execute(
        "SELECT grp FROM q_messages INDEXED BY q_heads WHERE queue = ? AND head = 1 AND visible_at <= ? "
        "ORDER BY visible_at, seq",
        (queue, now),
    )
    for (group,) in heads:
        if in_flight(conn, queue, group, now):
            continue  # its head is visible but a later message is leased (its lease was ended early)
        rows = conn.execute(
            f"SELECT {COLUMNS}, visible_at FROM q_messages INDEXED BY q_group WHERE queue = ? AND grp = ? "
            "ORDER BY seq LIMIT ?",
            (queue, group, limit - len(picked)),
        )
        for row in rows:
            if row[-1] > now:
                break  # not visible yet: the rest of the group waits behind it
            picked.append(row[:-1])
        if len(picked) >= limit:
            break
    return picked


def in_flight(conn: Any, queue: str, group: str, now: float) -> bool:
    """Whether a message of ``group`` is leased (received, and its visibility timeout not run out)."""
    row = conn.execute(
        "SELECT 1 FROM q_messages INDEXED BY q_leased WHERE queue = ? AND grp = ? AND grp IS NOT NULL "
        "AND receive_count > 0 AND visible_at > ? LIMIT 1",
        (queue, group, now),
    ).fetchone()
    return row is not None
