"""One change-log reader per table: several ``@table.on_change`` handlers share it, each keeps its own
position and retries, checkpoints are batched and saved at stop, a crash re-delivers (at least once)."""

from __future__ import annotations

import threading
import time

import strato
from strato.core.usage import OFF
from strato.local.worker import Worker
from strato.table.tailer import TableReader
from tests.test_streams import wait_until


def _handlers(table, count: int, seen: dict[str, list], fail: dict[str, int] | None = None, **options):
    """``count`` handlers named h0..; ``fail[name]`` = how many times it raises on the key 'poison'."""
    lock = threading.Lock()
    for n in range(count):
        name = f"h{n}"
        seen[name] = []

        def changed(record, name=name):
            with lock:
                seen[name].append((record.keys["id"], time.monotonic()))
            if record.keys["id"] == "poison" and (fail or {}).get(name, 0) > 0:
                fail[name] -= 1  # type: ignore[index]
                raise RuntimeError(f"{name} cannot handle poison yet")

        changed.__name__ = name
        table.on_change(**options)(changed)


def test_five_handlers_share_one_reader_loop_and_each_gets_every_record_in_order(tmp_path):
    app = strato.App("fan", data_dir=tmp_path)
    docs = app.table("docs", key="id")
    other = app.table("other", key="id")
    seen: dict[str, list] = {}
    _handlers(docs, 5, seen, batch_size=3)
    other.on_change()(lambda record: None)
    worker = Worker(app).start()
    try:
        stream_threads = [t.name for t in worker.threads if t.name.startswith("strato-stream:")]
        assert sorted(stream_threads) == ["strato-stream:docs", "strato-stream:other"]  # one per table
        for n in range(40):
            docs.put({"id": f"k{n % 7}", "n": n})
        assert wait_until(lambda: all(len(s) >= 40 for s in seen.values()))
    finally:
        worker.stop()
    expected = [f"k{n % 7}" for n in range(40)]
    for name, got in seen.items():
        assert [key for key, _ in got] == expected, name


def test_a_failing_handler_is_retried_alone_and_does_not_hold_back_the_others(tmp_path):
    app = strato.App("isolate", data_dir=tmp_path)
    items = app.table("items", key="id")
    seen: dict[str, list] = {}
    _handlers(items, 3, seen, fail={"h1": 2}, max_attempts=5)
    with_worker = Worker(app).start()
    try:
        for key in ("ok1", "poison", "ok2"):
            items.put({"id": key})
        assert wait_until(lambda: [k for k, _ in seen["h1"]][-1:] == ["ok2"])
    finally:
        with_worker.stop()
    for good in ("h0", "h2"):
        assert [k for k, _ in seen[good]] == ["ok1", "poison", "ok2"]  # never re-run for h1's retries
    assert [k for k, _ in seen["h1"]] == ["ok1", "poison", "poison", "poison", "ok2"]
    last_retry = [at for key, at in seen["h1"] if key == "poison"][-1]
    for good in ("h0", "h2"):
        reached_ok2 = next(at for key, at in seen[good] if key == "ok2")
        assert reached_ok2 < last_retry  # h1's back-off did not stall its siblings


def test_positions_are_saved_in_one_batch_at_stop_and_a_crash_redelivers(tmp_path):
    app = strato.App("resume", data_dir=tmp_path)
    notes = app.table("notes", key="id")
    seen: dict[str, list] = {}
    _handlers(notes, 2, seen)
    first = TableReader(notes, OFF)
    for n in range(5):
        notes.put({"id": f"n{n}"})
    assert first.step() == 10  # 5 records to each of the 2 handlers
    conn = notes.backend.store.db.conn
    saved = dict(conn.execute("SELECT consumer, seq FROM strato_checkpoints").fetchall())
    assert set(saved.values()) == {0}  # delivered but not yet saved: the checkpoint write is batched

    crashed = TableReader(notes, OFF)  # the first reader "crashed" without saving: at least once
    assert crashed.step() == 10
    assert [k for k, _ in seen["h0"]] == [f"n{n}" for n in range(5)] * 2

    crashed.save()  # what the worker's stop does
    saved = dict(conn.execute("SELECT consumer, seq FROM strato_checkpoints").fetchall())
    head = conn.execute("SELECT max(seq) FROM strato_changes").fetchone()[0]
    assert saved == {"notes:h0": head, "notes:h1": head}
    assert TableReader(notes, OFF).step() == 0  # resumes after the saved position: nothing again
    app.close()


def test_a_stopping_worker_saves_every_handlers_position(tmp_path):
    app = strato.App("stop", data_dir=tmp_path)
    notes = app.table("notes", key="id")
    seen: dict[str, list] = {}
    _handlers(notes, 3, seen)
    worker = Worker(app).start()
    for n in range(4):
        notes.put({"id": f"n{n}"})
    assert wait_until(lambda: all(len(s) == 4 for s in seen.values()))
    worker.stop()
    conn = notes.backend.store.db.conn
    head = conn.execute("SELECT max(seq) FROM strato_changes").fetchone()[0]
    assert dict(conn.execute("SELECT consumer, seq FROM strato_checkpoints").fetchall()) == {
        f"notes:h{n}": head for n in range(3)
    }
    app.close()
