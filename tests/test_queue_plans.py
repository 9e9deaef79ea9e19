"""A deep local queue stays fast: every statement of send, receive, delete, change_visibility and the
retention sweep walks an index, none sorts or scans the queue (the per-message cost grew with depth:
deletes chose the (queue, ...) index over the receipt one, and receives sorted every visible message).
Query plans, not timings: performance is measured in benchmarks/, this only pins the plans."""

from __future__ import annotations

import time

import pytest


def _plans(conn, statements: list[str]) -> dict[str, str]:
    out = {}
    for sql in statements:
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")) and "q_messages" in sql:
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            out[sql] = " | ".join(r[-1] for r in rows)
    return out


@pytest.mark.parametrize("depth", [50])
def test_queue_operations_walk_indexes_and_never_sort_or_scan_the_queue(make_app, depth):
    app = make_app()
    jobs = app.queue("jobs")
    for start in range(0, depth, 10):
        jobs.send_batch([f"m{i}" for i in range(start, start + 10)])
    conn = jobs.backend.store.db.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        jobs.backend._last_sweep = 0.0  # the retention sweep runs on this receive
        jobs.send("fresh")
        got = jobs.receive(2)
        jobs.change_visibility(got[0], 5)
        jobs.delete(got[1])
        time.sleep(0)
    finally:
        conn.set_trace_callback(None)
    plans = _plans(conn, statements)
    assert any("visible_at <= " in sql for sql in plans), "the receive query was not seen"
    for sql, plan in plans.items():
        assert "TEMP B-TREE" not in plan, (sql, plan)
        assert "SCAN q_messages" not in plan, (sql, plan)
        if "receipt =" in sql and "seq =" not in sql:
            assert "q_receipt" in plan, (sql, plan)
        if "expires_at <=" in sql and "DELETE" in sql.upper():
            assert "q_expiry" in plan, (sql, plan)
