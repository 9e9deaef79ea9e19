"""table put / get / query: strato's SQLite provider vs raw sqlite3 doing the same SQL with the same
durability settings, and vs strato's DynamoDB provider on moto_server."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import uuid
from pathlib import Path

from .support import Row, moto_server, rate


def _item(i: int) -> dict:
    return {"user": f"u{i % 50}", "ts": i, "kind": "click", "path": f"/page/{i % 17}", "ms": i * 1.5,
            "tags": ["a", "b"]}


def raw_sqlite(path: Path, n: int, gets: int, queries: int) -> dict[str, float]:
    """The baseline: one WITHOUT ROWID table, BLOB keys, JSON text docs, WAL + synchronous=NORMAL."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (pk BLOB NOT NULL, sk BLOB NOT NULL, doc TEXT NOT NULL, expires REAL, "
                 "PRIMARY KEY (pk, sk)) WITHOUT ROWID")

    def put(i: int) -> None:
        item = _item(i)
        conn.execute("INSERT OR REPLACE INTO t (pk, sk, doc, expires) VALUES (?, ?, ?, ?)",
                     (item["user"].encode(), str(item["ts"]).encode(), json.dumps(item), None))

    def get(i: int) -> None:
        i = (i * 7919) % n
        row = conn.execute("SELECT doc, expires FROM t WHERE pk = ? AND sk = ?",
                           (f"u{i % 50}".encode(), str(i).encode())).fetchone()
        json.loads(row[0])

    def query(i: int) -> None:
        rows = conn.execute("SELECT doc FROM t WHERE pk = ? AND (expires IS NULL OR expires > 0) ORDER BY sk "
                            "LIMIT 101", (f"u{i % 50}".encode(),)).fetchall()
        [json.loads(r[0]) for r in rows]

    out = {"put": rate(put, n), "get": rate(get, gets), "query": rate(query, queries)}
    conn.close()
    return out


def strato_table(provider: str, data: Path, n: int, gets: int, queries: int) -> dict[str, float]:
    import strato

    app = strato.App(f"bench{uuid.uuid4().hex[:6]}", provider=provider, data_dir=data)
    app.config.auto_create = provider == "aws"
    table = app.table("events", key="user", sort="ts:number")
    table.ensure()
    out = {"put": rate(lambda i: table.put(_item(i)), n)}
    out["get"] = rate(lambda i: table.get((f"u{((i * 7919) % n) % 50}", (i * 7919) % n)), gets)
    out["query"] = rate(lambda i: table.query(f"u{i % 50}", limit=100), queries)
    table.drop()
    app.close()
    return out


def run(quick: bool = False) -> list[Row]:
    n, gets, queries = (5_000, 5_000, 300) if quick else (20_000, 20_000, 1_000)
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_sqlite(Path(tmp) / "raw.db", n, gets, queries)
        local = strato_table("local", Path(tmp) / "strato", n, gets, queries)
    with moto_server(), tempfile.TemporaryDirectory() as tmp:
        small = 200 if quick else 400
        aws = strato_table("aws", Path(tmp), small, small, 50 if quick else 100)
    rows = []
    for op, unit in (("put", "ops/s"), ("get", "ops/s"), ("query", "queries/s, 100 items")):
        rows.append(Row("table", f"local {op}", local[op], raw[op], "raw sqlite3", unit, "≥ 0.5x (within 2x)"))
    for op in ("put", "get", "query"):
        rows.append(Row("table", f"local vs aws {op}", local[op], aws[op], "DynamoDB on moto", "ops/s",
                        "≥ 50x" if op != "query" else ""))
    return rows
