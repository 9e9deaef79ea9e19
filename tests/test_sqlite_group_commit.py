"""Group commit (runtime/sqlite.py): single-statement writes from many threads share commits, and each
writer still learns its own outcome: a put(if_absent) race has exactly one winner per key, every write
that returned is there, and a statement that fails fails alone."""

from __future__ import annotations

import sqlite3
import threading

import pytest

import strato
from strato.runtime.sqlite import Database


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
