"""The SQLite file behind every local table of one data directory: items, the change log, checkpoints."""

from __future__ import annotations

from pathlib import Path

from ..runtime.sqlite import Database
from ..runtime.wakeup import Wakeup


class LocalTableStore:
    """The SQLite file behind every local table of one data directory."""

    def __init__(self, data_dir: Path, durability: str = "process") -> None:
        self.db = Database(Path(data_dir) / "tables.db", durability)
        with self.db.write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS strato_tables (name TEXT PRIMARY KEY, spec TEXT NOT NULL)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS strato_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "tbl TEXT NOT NULL, event TEXT NOT NULL, keys TEXT NOT NULL, old TEXT, new TEXT, "
                "at REAL NOT NULL, ttl INTEGER NOT NULL DEFAULT 0, trace TEXT)"
            )
            if "trace" not in {row[1] for row in conn.execute("PRAGMA table_info(strato_changes)")}:
                conn.execute("ALTER TABLE strato_changes ADD COLUMN trace TEXT")  # the writer's X-Ray trace
            conn.execute("CREATE INDEX IF NOT EXISTS strato_changes_tbl ON strato_changes (tbl, seq)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS strato_checkpoints (consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL)"
            )
        self.changed = Wakeup()  # wakes change-stream tailers in this process

    def close(self) -> None:
        self.db.close()
