"""The honest hand-written baseline for a local S3: what any store with S3 semantics must do per object.

S3 returns an ETag (the MD5 of a single-part object) on every put, lists keys in order with pages of
1,000, and never shows a half-written object. The least code that does that: hash while writing a
temporary file, rename it into place, record one row in a SQLite index (WAL, synchronous=NORMAL: the
durability strato's local provider uses by default). No events, usage accounting, validation or
replacement bookkeeping: the cost floor, not a rival design.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path


class IndexedFiles:
    """Object bytes in files named by random ids (fan-out by two hex digits), metadata in one SQLite table."""

    def __init__(self, root: Path) -> None:
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        for i in range(256):
            (self.objects / f"{i:02x}").mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(root / "index.db", isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, size INTEGER NOT NULL, etag TEXT NOT NULL, "
            "last_modified REAL NOT NULL, file TEXT NOT NULL) WITHOUT ROWID"
        )

    def put(self, key: str, payload: bytes) -> str:
        """Write + MD5 + rename + one autocommit index row; the ETag."""
        file_id = os.urandom(16).hex()
        tmp = self.tmp / file_id
        etag = f'"{hashlib.md5(payload, usedforsecurity=False).hexdigest()}"'
        tmp.write_bytes(payload)
        os.replace(tmp, self.objects / file_id[:2] / file_id)
        self.db.execute("INSERT INTO objects VALUES (?, ?, ?, ?, ?)", (key, len(payload), etag, time.time(), file_id))
        return etag

    def get(self, key: str) -> bytes:
        row = self.db.execute("SELECT file FROM objects WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return (self.objects / row[0][:2] / row[0]).read_bytes()

    def list_page(self, after: str = "", limit: int = 1000) -> list[tuple[str, int, str, float]]:
        """One page of (key, size, etag, last modified) in key order after ``after``: what ListObjectsV2 returns."""
        return self.db.execute(
            "SELECT key, size, etag, last_modified FROM objects WHERE key > ? ORDER BY key LIMIT ?", (after, limit)
        ).fetchall()

    def close(self) -> None:
        self.db.close()
