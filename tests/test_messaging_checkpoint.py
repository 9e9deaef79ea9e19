"""messaging.db is checkpointed by a background thread, not inside a send or receive: the commit that
crossed SQLite's 1,000-page threshold used to copy the WAL back and fsync (5-10 ms, the receive p99
of a deep queue). Checked by where the pages end up, not by timing."""

from __future__ import annotations

import threading
import time

from strato.runtime.checkpointer import BACKSTOP_PAGES


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "checkpoint:messaging.db" and t.is_alive()]


def test_the_wal_is_copied_back_by_the_background_thread(make_app, tmp_path):
    before = len(_checkpointers())
    app = make_app()
    jobs = app.queue("jobs")
    conn = jobs.backend.store.db.conn
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BACKSTOP_PAGES
    assert len(_checkpointers()) == before + 1
    path = jobs.backend.store.db.path
    for _ in range(30):  # 300 messages, ~2.5 MB: below the backstop, so no send checkpoints by itself
        jobs.send_batch(["x" * 8000 for _ in range(10)])
    deadline = time.monotonic() + 10
    while path.stat().st_size < 2_000_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size >= 2_000_000, "the messages never reached the database file"
    app.close()
    assert len(_checkpointers()) == before
