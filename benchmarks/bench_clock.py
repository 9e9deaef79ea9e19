"""Virtual time: ``Timekeeper.advance(86_400)`` over 10,000 TTL items and 10,000 delayed messages (goal
< 1 s), against writing those 20,000 items and messages through strato in the same run; the TTL sweep
alone against a plain SQLite DELETE of 10,000 indexed rows; and schedule slots fired per second against
calling the handler through the same dispatcher without claims."""

from __future__ import annotations

import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from .support import Row

DAY = 86_400


def _app(data: Path):
    import strato

    return strato.App(f"bench{uuid.uuid4().hex[:6]}", data_dir=data)


def advance_day(data: Path, n: int) -> tuple[float, float, float, float]:
    """(ms for advance(86_400), ms to write the n items and n messages, ms of the TTL sweep inside it,
    slots fired). Items expire spread over the day; messages are delayed 15 minutes (SQS's maximum)."""
    from strato.core import clock
    from strato.core.clock import VirtualClock
    from strato.local.timekeeping import Timekeeper

    previous = clock.install(VirtualClock())
    try:
        app = _app(data)
        sessions = app.table("sessions", key="id", ttl="exp")
        jobs = app.queue("jobs", delay=900)
        fired: list[int] = []
        app.schedule("rate(1 hour)", name="hourly")(lambda: fired.append(1))
        now = clock.now()
        started = time.perf_counter()
        sessions.batch_put([{"id": f"s{i}", "exp": now + 1 + i * (DAY - 2) / n} for i in range(n)])
        for start in range(0, n, 10):
            jobs.send_batch([{"n": i} for i in range(start, min(start + 10, n))])
        write_ms = (time.perf_counter() - started) * 1000
        keeper = Timekeeper(app)
        started = time.perf_counter()
        elapsed = keeper.advance(DAY)
        advance_ms = (time.perf_counter() - started) * 1000
        assert elapsed.swept == n and len(fired) == 24, (elapsed, len(fired))
        assert jobs.stats().as_dict()["depth"] == n
        sessions.put({"id": "again", "exp": clock.now() + 1})  # the sweep alone, on a fresh batch
        sessions.batch_put([{"id": f"t{i}", "exp": clock.now() + 1} for i in range(n - 1)])
        clock.installed().advance(2)  # type: ignore[union-attr]
        started = time.perf_counter()
        assert sessions.backend.sweep(clock.now()) == n
        sweep_ms = (time.perf_counter() - started) * 1000
        keeper.close()
        app.close()
    finally:
        clock.install(previous)
    return advance_ms, write_ms, sweep_ms, float(len(fired))


def plain_delete_ms(data: Path, n: int) -> float:
    """A plain SQLite DELETE of n rows found through an index on their expiry (WAL, one transaction)."""
    db = sqlite3.connect(data / "plain.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (pk BLOB, sk BLOB, doc TEXT, expires REAL, PRIMARY KEY (pk, sk)) WITHOUT ROWID")
    db.execute("CREATE INDEX t_exp ON t (expires) WHERE expires IS NOT NULL")
    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(f"s{i}".encode(), b"", "{}", 1.0) for i in range(n)])
    started = time.perf_counter()
    db.execute("BEGIN")
    assert db.execute("DELETE FROM t WHERE expires IS NOT NULL AND expires <= ?", (2.0,)).rowcount == n
    db.execute("COMMIT")
    ms = (time.perf_counter() - started) * 1000
    db.close()
    return ms


def slots_per_second(data: Path, slots: int) -> tuple[float, float]:
    """Slots of rate(1 minute) fired per second by advance, and handler calls per second through the same
    dispatcher without claims or clock moves (the floor)."""
    from strato.core import clock
    from strato.core.clock import VirtualClock
    from strato.local.scheduler import fire
    from strato.local.timekeeping import Timekeeper

    previous = clock.install(VirtualClock())
    try:
        app = _app(data)
        count = [0]

        @app.schedule("rate(1 minute)", name="tick")
        def tick() -> None:
            count[0] += 1

        keeper = Timekeeper(app, max_slots=slots)
        started = time.perf_counter()
        keeper.advance(slots * 60)
        ours = slots / (time.perf_counter() - started)
        assert count[0] == slots
        schedule = app.schedules[0]
        slot = keeper.now()
        started = time.perf_counter()
        for _ in range(slots):
            fire(app, schedule, slot)
        floor = slots / (time.perf_counter() - started)
        keeper.close()
        app.close()
    finally:
        clock.install(previous)
    return ours, floor


def run(quick: bool = False) -> list[Row]:
    n = 10_000
    slots = 2_000 if quick else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        advance_ms, write_ms, sweep_ms, _ = advance_day(Path(tmp) / "day", n)
        plain_ms = plain_delete_ms(Path(tmp), n)
        ours, floor = slots_per_second(Path(tmp) / "slots", slots)
    return [
        Row(
            "clock",
            "advance(86_400): 10k TTL items + 10k delayed messages + 24 slots",
            advance_ms,
            write_ms,
            "writing those 20k items/messages",
            "ms",
            "< 1 s",
            higher_is_better=False,
        ),
        Row(
            "clock",
            "TTL sweep of 10k expired items",
            sweep_ms,
            plain_ms,
            "plain SQLite indexed DELETE of 10k rows",
            "ms",
            higher_is_better=False,
        ),
        Row(
            "clock",
            f"schedule slots fired by advance (rate(1 minute), {slots:,})",
            ours,
            floor,
            "the handler through the dispatcher, no claims",
            "slots/s",
        ),
    ]
