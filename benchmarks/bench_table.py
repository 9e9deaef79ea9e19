"""table put / get / query: strato's SQLite provider vs raw sqlite3 doing the same SQL with the same
durability settings, and vs strato's DynamoDB provider on moto_server."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from .support import Row, moto_server, rate


def _item(i: int) -> dict:
    return {
        "user": f"u{i % 50}",
        "ts": i,
        "kind": "click",
        "path": f"/page/{i % 17}",
        "ms": i * 1.5,
        "tags": ["a", "b"],
    }


class RawSqlite:
    """The baseline: one WITHOUT ROWID table, BLOB keys, JSON text docs, WAL + synchronous=NORMAL
    (strato's default durability), i.e. what strato's local provider does, written by hand."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(
            "CREATE TABLE t (pk BLOB NOT NULL, sk BLOB NOT NULL, doc TEXT NOT NULL, expires REAL, "
            "PRIMARY KEY (pk, sk)) WITHOUT ROWID"
        )

    def put(self, i: int) -> None:
        item = _item(i)
        self.conn.execute(
            "INSERT OR REPLACE INTO t (pk, sk, doc, expires) VALUES (?, ?, ?, ?)",
            (item["user"].encode(), str(item["ts"]).encode(), json.dumps(item), None),
        )

    def get(self, i: int) -> None:
        row = self.conn.execute(
            "SELECT doc, expires FROM t WHERE pk = ? AND sk = ?", (f"u{i % 50}".encode(), str(i).encode())
        ).fetchone()
        json.loads(row[0])

    def query(self, i: int) -> None:
        rows = self.conn.execute(
            "SELECT doc FROM t WHERE pk = ? AND (expires IS NULL OR expires > 0) ORDER BY sk LIMIT 101",
            (f"u{i % 50}".encode(),),
        ).fetchall()
        [json.loads(r[0]) for r in rows]


class StratoTable:
    def __init__(self, provider: str, data: Path) -> None:
        import strato

        self.app = strato.App(f"bench{uuid.uuid4().hex[:6]}", provider=provider, data_dir=data)
        self.app.config.auto_create = provider == "aws"
        self.table = self.app.table("events", key="user", sort="ts:number")
        self.table.ensure()

    def put(self, i: int) -> None:
        self.table.put(_item(i))

    def get(self, i: int) -> None:
        self.table.get((f"u{i % 50}", i))

    def query(self, i: int) -> None:
        self.table.query(f"u{i % 50}", limit=100)

    def close(self) -> None:
        self.table.drop()
        self.app.close()


def interleaved(op: str, a: object, b: object, n: int, chunk: int) -> tuple[float, float]:
    """ops/s of a.op and b.op over the same indices, alternating chunks so machine drift hits both."""
    spent = [0.0, 0.0]
    for start in range(0, n, chunk):
        for side, target in enumerate((a, b)):
            fn = getattr(target, op)
            began = time.perf_counter()
            for i in range(start, min(start + chunk, n)):
                fn((i * 7919) % n if op == "get" else i)
            spent[side] += time.perf_counter() - began
    return n / spent[0], n / spent[1]


def run(quick: bool = False) -> list[Row]:
    n, queries = (5_000, 300) if quick else (20_000, 1_000)
    local, raw = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        ours, base = StratoTable("local", Path(tmp) / "strato"), RawSqlite(Path(tmp) / "raw.db")
        for op, count, chunk in (("put", n, 1000), ("get", n, 1000), ("query", queries, 50)):
            local[op], raw[op] = interleaved(op, ours, base, count, chunk)
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
        rows.append(Row("table", f"local {op}", local[op], raw[op], "raw sqlite3", unit, "≥ 0.5x (within 2x)"))
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
