"""A deep local queue stays fast: every statement of send, receive, delete, change_visibility and the
retention sweep walks an index, none sorts or scans the queue (the per-message cost grew with depth:
deletes chose the (queue, ...) index over the receipt one, and receives sorted every visible message).
Query plans, not timings: performance is measured in benchmarks/, this only pins the plans."""

from __future__ import annotations

import pytest


def _plans(conn, statements: list[str]) -> dict[str, str]:
    out = {}
    for sql in statements:
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")) and (
            "q_messages" in sql or "q_dedup" in sql
        ):
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            out[sql] = " | ".join(r[-1] for r in rows)
    return out


def _traced(queue, fifo: bool) -> dict[str, str]:
    """The plans of every statement one send, receive, change_visibility, delete and retention sweep ran."""
    conn = queue.backend.store.db.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        queue.backend._last_sweep = 0.0  # the retention sweep runs on this receive
        queue.send("fresh", **({"group": "g7"} if fifo else {}))
        got = queue.receive(3)
        queue.change_visibility(got[-1], 5)
        queue.delete(got[0])  # on a FIFO queue a group's head: its next message becomes the head
    finally:
        conn.set_trace_callback(None)
    return _plans(conn, statements)


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_queue_operations_walk_indexes_and_never_sort_or_scan_the_queue(make_app, fifo):
    app = make_app()
    jobs = app.queue("jobs", fifo=fifo, content_dedup=fifo)
    for start in range(0, 50, 10):
        jobs.send_batch([f"m{i}" for i in range(start, start + 10)], **({"group": f"g{start % 20}"} if fifo else {}))
    plans = _traced(jobs, fifo)
    assert any("visible_at <= " in sql for sql in plans), "the receive query was not seen"
    for sql, plan in plans.items():
        assert "TEMP B-TREE" not in plan, (sql, plan)
        assert "SCAN q_messages" not in plan and "SCAN q_dedup" not in plan, (sql, plan)
        if "receipt =" in sql and "seq =" not in sql:
            assert "q_receipt" in plan, (sql, plan)
        if "expires_at <=" in sql and "DELETE" in sql.upper():
            assert "q_expiry" in plan or "q_dedup_expiry" in plan, (sql, plan)
    if fifo:  # receives walk group heads, then one group's messages, and check groups for a lease
        walked = " ".join(plans.values())
        for index in ("q_heads", "q_group", "q_leased"):
            assert f"USING INDEX {index}" in walked, (index, plans)
