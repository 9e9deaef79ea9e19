"""table put / get / query: strato's SQLite provider vs raw sqlite3 doing the same SQL with the same
durability settings and the same bytes on disk, and vs strato's DynamoDB provider on moto_server.

The raw baseline is what strato's local provider does, written by hand without its semantics: the
same WITHOUT ROWID table, the same statements, WAL + synchronous=NORMAL (strato's default durability),
autocommit for a lone put, and the same on-disk format (partition key as UTF-8, the number sort key in
strato's order-preserving encoding, the item as compact JSON); `run` checks a row of each is the same.
What it leaves out is the DynamoDB behaviour strato owes: validating and sizing the item (400 KB),
numbers as exact Decimals, key type checks, TTL, write/read unit accounting, access checks.
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from .support import Row, ScalePoint, moto_server, rate


def _item(i: int) -> dict:
    return {
        "user": f"u{i % 50}",
        "ts": i,
        "kind": "click",
        "path": f"/page/{i % 17}",
        "ms": i * 1.5,
        "tags": ["a", "b"],
    }


def _number_key(n: int) -> bytes:
    """strato's order-preserving bytes for a non-negative int sort key (schema.sortable), by hand."""
    if n == 0:
        return b"\x01"
    digits = str(n)
    return b"\x02" + (len(digits) - 1 + 200).to_bytes(2, "big") + digits.rstrip("0").encode()


class RawSqlite:
    """The baseline: strato's local table layout, SQL and pragmas, with none of its semantics."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(
            "CREATE TABLE t (pk BLOB NOT NULL, sk BLOB NOT NULL, doc TEXT NOT NULL, expires REAL, "
            "PRIMARY KEY (pk, sk)) WITHOUT ROWID"
        )
        self.encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def put(self, i: int) -> None:
        item = _item(i)
        self.conn.execute(
            "INSERT OR REPLACE INTO t (pk, sk, doc, expires) VALUES (?, ?, ?, ?)",
            (item["user"].encode(), _number_key(item["ts"]), self.encode(item), None),
        )

    def get(self, i: int) -> dict | None:
        row = self.conn.execute(
            "SELECT doc, expires FROM t WHERE pk = ? AND sk = ?", (f"u{i % 50}".encode(), _number_key(i))
        ).fetchone()
        return json.loads(row[0]) if row is not None else None

    def query(self, i: int, limit: int = 100) -> list[dict]:
        rows = self.conn.execute(
            "SELECT doc FROM t WHERE pk = ? AND (expires IS NULL OR expires > ?) ORDER BY sk ASC LIMIT ?",
            (f"u{i % 50}".encode(), time.time(), limit + 1),
        ).fetchall()
        return [json.loads(r[0]) for r in rows]


class StratoTable:
    def __init__(self, provider: str, data: Path) -> None:
        import strato

        self.app = strato.App(f"bench{uuid.uuid4().hex[:6]}", provider=provider, data_dir=data)
        self.app.config.auto_create = provider == "aws"
        self.table = self.app.table("events", key="user", sort="ts:number")
        self.table.ensure()

    def put(self, i: int) -> None:
        self.table.put(_item(i))

    def get(self, i: int) -> dict | None:
        return self.table.get((f"u{i % 50}", i))

    def query(self, i: int, limit: int = 100) -> list[dict]:
        return self.table.query(f"u{i % 50}", limit=limit).items

    def close(self) -> None:
        self.table.drop()
        self.app.close()


def same_rows(ours: StratoTable, base: RawSqlite, i: int) -> None:
    """The baseline stores what strato stores: the same key bytes and the same JSON document."""
    backend = ours.table.backend
    mine = backend.store.db.conn.execute(f"SELECT pk, sk, doc FROM {backend.t} ORDER BY pk, sk LIMIT 1 OFFSET ?", (i,))
    theirs = base.conn.execute("SELECT pk, sk, doc FROM t ORDER BY pk, sk LIMIT 1 OFFSET ?", (i,))
    (pk, sk, doc), (rpk, rsk, rdoc) = mine.fetchone(), theirs.fetchone()
    if (pk, sk, json.loads(doc)) != (rpk, rsk, json.loads(rdoc)):
        raise AssertionError(f"the raw baseline stores another format: {(pk, sk, doc)} vs {(rpk, rsk, rdoc)}")


def interleaved(op: str, a: object, b: object, n: int, chunk: int) -> tuple[float, float]:
    """ops/s of a.op and b.op over the same indices, alternating chunks (A, B, B, A, ...) so machine
    drift and the order within a pair hit both alike; the rate is the median of the per-chunk rates."""
    rates: tuple[list[float], list[float]] = ([], [])
    for number, start in enumerate(range(0, n, chunk)):
        indices = [(i * 7919) % n if op == "get" else i for i in range(start, min(start + chunk, n))]
        order = ((0, a), (1, b)) if number % 2 == 0 else ((1, b), (0, a))
        for side, target in order:
            fn = getattr(target, op)
            began = time.perf_counter()
            for i in indices:
                fn(i)
            rates[side].append(len(indices) / (time.perf_counter() - began))
    return statistics.median(rates[0]), statistics.median(rates[1])


def run(quick: bool = False) -> list[Row]:
    n, queries = (5_000, 300) if quick else (20_000, 1_000)
    local, raw = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        ours, base = StratoTable("local", Path(tmp) / "strato"), RawSqlite(Path(tmp) / "raw.db")
        for op, count, chunk in (("put", n, 250), ("get", n, 250), ("query", queries, 25)):
            local[op], raw[op] = interleaved(op, ours, base, count, chunk)
            if op == "put":
                for i in (0, n // 3, n - 1):
                    same_rows(ours, base, i)
        ours.close()
    with moto_server(), tempfile.TemporaryDirectory() as tmp:
        small = 200 if quick else 400
        aws_table = StratoTable("aws", Path(tmp))
        aws = {
            "put": rate(aws_table.put, small),
            "get": rate(lambda i: aws_table.get(i % small), small),
            "query": rate(aws_table.query, 50 if quick else 100),
        }
        aws_table.close()
    rows = []
    for op, unit in (("put", "ops/s"), ("get", "ops/s"), ("query", "queries/s, 100 items")):
        target = "≥ 0.85x" if op != "query" else "≥ 0.5x"
        rows.append(Row("table", f"local {op}", local[op], raw[op], "raw sqlite3, same SQL + format", unit, target))
    for op in ("put", "get", "query"):
        rows.append(
            Row(
                "table",
                f"local vs aws {op}",
                local[op],
                aws[op],
                "DynamoDB on moto",
                "ops/s",
                "≥ 50x" if op != "query" else "",
            )
        )
    return rows


def _fill(table, start: int, stop: int) -> None:
    """Items ``start`` .. ``stop`` through strato's batch_put (one transaction per 500 items)."""
    for first in range(start, stop, 500):
        table.batch_put([_item(i) for i in range(first, min(first + 500, stop))])


def _us_per(fn, indices: list[int]) -> float:
    began = time.perf_counter()
    for i in indices:
        fn(i)
    return (time.perf_counter() - began) / len(indices) * 1e6


def scale(quick: bool = False) -> list[ScalePoint]:
    """Table size sweep: µs per get (a random stored item), per put (a new key) and per query (the first
    10 items of a partition) with 1,000 .. 1,000,000 items stored."""
    sizes = [1_000, 100_000, 500_000] if quick else [1_000, 100_000, 1_000_000]
    ops = 1_000 if quick else 3_000
    rng = random.Random(15)
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        ours = StratoTable("local", Path(tmp))
        stored = 0
        for size in sizes:
            _fill(ours.table, stored, size)
            stored = size
            gets = [rng.randrange(size) for _ in range(ops)]
            news = rng.sample(range(10_000_000, 20_000_000), ops)  # new keys, in random order
            queries = [rng.randrange(50) for _ in range(ops // 5)]
            points.append(ScalePoint("table: get by items stored", size, _us_per(ours.get, gets)))
            points.append(ScalePoint("table: put by items stored", size, _us_per(ours.put, news)))
            query = _us_per(lambda i: ours.query(i, 10), queries)
            points.append(ScalePoint("table: query 10 of a partition by items stored", size, query))
        ours.close()
    return points
