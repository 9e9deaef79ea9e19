"""The local change log of a table with ``@table.on_change`` handlers: written in the item's own
transaction (see ``LocalTableBackend._log``), read in order by the table's one reader from each
consumer's position (``strato.table.tailer``), pruned after 24 hours as a DynamoDB stream is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .docs import decode_doc

if TYPE_CHECKING:
    from .local_store import LocalTableStore


class ChangeLog:
    """Mixed into ``LocalTableBackend``: needs its ``store``, ``physical`` name and ``ensure()``."""

    if TYPE_CHECKING:
        store: LocalTableStore
        physical: str

        def ensure(self) -> None: ...

    def notify(self) -> None:
        self.store.changed.notify()

    def register(self, consumer: str) -> None:
        """A new consumer starts at the head of the log: changes from now on (LATEST); a known one resumes."""
        self.ensure()
        with self.store.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO strato_checkpoints SELECT ?, coalesce(max(seq), 0) FROM strato_changes",
                (consumer,),
            )

    def load_checkpoints(self, consumers: list[str]) -> dict[str, int]:
        """The saved position of each consumer (0 for one never registered)."""
        conn = self.store.db.conn
        out = dict.fromkeys(consumers, 0)
        for consumer in consumers:
            row = conn.execute("SELECT seq FROM strato_checkpoints WHERE consumer = ?", (consumer,)).fetchone()
            if row is not None:
                out[consumer] = row[0]
        return out

    def changes_since(self, seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` changes of this table after ``seq``, oldest first, decoded."""
        out = []
        for row_seq, event, keys, old, new, at, ttl, trace in self.store.db.conn.execute(
            "SELECT seq, event, keys, old, new, at, ttl, trace FROM strato_changes WHERE tbl = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (self.physical, seq, limit),
        ):
            out.append(
                (
                    row_seq,
                    event,
                    decode_doc(keys),
                    decode_doc(old) if old else None,
                    decode_doc(new) if new else None,
                    at,
                    bool(ttl),
                    trace,
                )
            )
        return out

    def save_checkpoints(self, positions: dict[str, int]) -> None:
        """Move several consumers' checkpoints in one transaction (never backwards)."""
        with self.store.db.write() as conn:
            conn.executemany(
                "INSERT INTO strato_checkpoints VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET "
                "seq = max(seq, excluded.seq)",
                list(positions.items()),
            )

    def prune_changes(self, now: float) -> None:
        """Forget changes older than 24 hours, as a DynamoDB stream does (the tailer calls this each second)."""
        oldest = self.store.db.conn.execute("SELECT at FROM strato_changes ORDER BY seq LIMIT 1").fetchone()
        if oldest is None or oldest[0] >= now - 86_400:  # the usual case: one indexed row read, no write
            return
        with self.store.db.write() as conn:
            conn.execute("DELETE FROM strato_changes WHERE at < ?", (now - 86_400,))
