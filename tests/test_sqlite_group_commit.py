"""Group commit (runtime/sqlite.py): single-statement writes from many threads share commits, and each
writer still learns its own outcome: a put(if_absent) race has exactly one winner per key, every write
that returned is there, and a statement that fails fails alone; multi-statement work (``together``) shares
commits the same way, each piece in a savepoint of its own."""

from __future__ import annotations

import sqlite3
import threading

import pytest

import strato
from strato.local.worker import Worker
from strato.runtime.sqlite import Database
from tests.conftest import wait_until


def test_racing_conditional_puts_have_one_winner_each_and_nothing_acknowledged_is_lost(tmp_path):
    app = strato.App("group", data_dir=tmp_path)
    table = app.table("msgs", key="sid", sort="pos", ttl="expires")  # no index, no stream: the grouped path
    wins: list[tuple[int, int]] = []
    lost: list[int] = []
    start = threading.Barrier(12)

    def writer(n: int) -> None:
        start.wait()
        for pos in range(40):
            try:
                table.put({"sid": "s", "pos": f"{pos:04d}", "by": n}, if_absent=True)
                wins.append((pos, n))
            except strato.ConditionFailed:
                lost.append(pos)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(pos for pos, _ in wins) == list(range(40))  # one winner per key
    assert len(lost) == 40 * 11
    stored = {item["pos"]: item["by"] for item in table.query("s")}
    assert stored == {f"{pos:04d}": n for pos, n in wins}  # what each winner was told is what is stored
    app.close()


def test_a_failing_statement_fails_alone_in_its_group(tmp_path):
    db = Database(tmp_path / "g.db")
    with db.write() as conn:
        conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
    outcomes: dict[str, object] = {}
    start = threading.Barrier(8)

    def one(k: str, v: str | None) -> None:
        start.wait()
        try:
            outcomes[k] = db.grouped("INSERT INTO t (k, v) VALUES (?, ?)", (k, v))
        except sqlite3.IntegrityError as exc:
            outcomes[k] = exc

    threads = [threading.Thread(target=one, args=(f"k{i}", None if i == 3 else "x")) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert isinstance(outcomes.pop("k3"), sqlite3.IntegrityError)  # NOT NULL
    assert outcomes == {f"k{i}": 1 for i in range(8) if i != 3}
    assert {k for (k,) in db.conn.execute("SELECT k FROM t")} == set(outcomes)
    with pytest.raises(sqlite3.IntegrityError):
        db.grouped("INSERT INTO t (k, v) VALUES (?, ?)", ("k0", "again"))  # alone: autocommitted, same errors
    db.close()


def test_work_handed_in_together_shares_commits_and_work_that_raises_is_undone_alone(tmp_path):
    """``together``: multi-statement work from many threads; each piece runs in its caller's context
    (contextvars: a trace, a test clock) and in a savepoint, so one that raises half-way leaves nothing."""
    import contextvars

    db = Database(tmp_path / "w.db")
    with db.write() as conn:
        conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
    who = contextvars.ContextVar("who", default="nobody")
    outcomes: dict[int, object] = {}
    start = threading.Barrier(10)

    def work(n: int):
        def run(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT INTO t VALUES (?, ?)", (f"a{n}", who.get()))
            if n == 4:
                raise ValueError("half-way")  # its first insert must not be committed
            conn.execute("INSERT INTO t VALUES (?, ?)", (f"b{n}", who.get()))
            return who.get()

        return run

    def one(n: int) -> None:
        who.set(f"writer{n}")
        start.wait()
        try:
            outcomes[n] = db.together(work(n))
        except ValueError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert isinstance(outcomes.pop(4), ValueError)
    assert outcomes == {n: f"writer{n}" for n in range(10) if n != 4}  # each ran in its own context
    rows = dict(db.conn.execute("SELECT k, v FROM t"))
    assert rows == {f"{p}{n}": f"writer{n}" for n in range(10) if n != 4 for p in "ab"}
    with pytest.raises(ValueError):
        db.together(work(4))  # alone: its own transaction, rolled back
    assert db.conn.execute("SELECT count(*) FROM t WHERE k = 'a4'").fetchone()[0] == 0
    db.close()


def test_concurrent_batch_puts_on_a_streamed_table_commit_together_and_log_every_change(tmp_path):
    """Batch puts of a table with a change stream go through ``together``: all are stored and each item
    has its change record, in commit order (DynamoDB Streams: one record per modification, in order per key)."""
    app = strato.App("together", data_dir=tmp_path)
    table = app.table("points", key="app", sort="sk")
    seen: list[tuple[str, str]] = []
    table.on_change(batch=True)(lambda records: seen.extend((r.keys["app"], r.keys["sk"]) for r in records))
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        for i in range(10):
            table.batch_put([{"app": f"a{n}", "sk": f"{i:03d}", "v": i}, {"app": f"a{n}", "sk": f"{i:03d}x"}])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    worker = Worker(app).start()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sum(len(table.query(f"a{n}").items) for n in range(8)) == 160
        wait_until(lambda: len(seen) >= 160, timeout=10, what="every change delivered")
    finally:
        worker.stop()
    assert len(seen) == 160 and len(set(seen)) == 160
    for n in range(8):  # per key order: each writer's items in the order it put them
        mine = [sk for a, sk in seen if a == f"a{n}"]
        assert mine == sorted(mine)
    app.close()
