"""What S3 does for a bucket by itself, locally: event notifications to ``@bucket.on_change`` watchers
(queued in the object's own transaction, delivered with retries by the worker) and lifecycle expiry."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from ..core.usage import OFF
from ..dispatch import s3
from ..events.s3 import s3_record
from ..runtime.work import Loop

log = logging.getLogger("strato.bucket")

MAX_EVENT_ATTEMPTS = 3
LIFECYCLE_EVERY_S = 60.0  # S3 applies lifecycle rules about once a day; locally a minute is plenty


class LocalObjectEvents:
    """Mixed into ``LocalBucketBackend``, whose store and bucket it uses."""

    name: str
    store: Any
    bucket: Any
    usage: Any
    if TYPE_CHECKING:

        def _unlink(self, file_id: str | None) -> None: ...

    def _events(self, conn: Any, kind: str, name: str, key: str, size: int, etag: str) -> None:
        from ..runtime.aws import region

        for index, watcher in enumerate(self.bucket.watchers):
            if watcher.wants(kind, key):
                record = s3_record(name, self.bucket.physical_name, key, size, etag, region())
                conn.execute(
                    "INSERT INTO b_events (bucket, watcher, record, next_at) VALUES (?, ?, ?, ?)",
                    (self.name, index, json.dumps(record), time.time()),
                )

    def background(self, bucket: Any) -> list[Loop]:
        """S3's own jobs locally: event notifications to watchers, and lifecycle expiry."""
        loops = [Loop(f"lifecycle:{self.name}", lambda: self.sweep(time.time()), idle=LIFECYCLE_EVERY_S)]
        if bucket.watchers:
            loops.append(Loop(f"object-events:{self.name}", self.deliver_due, idle=0.05))
        return loops

    def sweep(self, now: float) -> int:
        """Expire objects older than ``expire_after_days`` (S3 lifecycle rules run about daily)."""
        if not self.bucket.expire_after_days:
            return 0
        cutoff = now - self.bucket.expire_after_days * 86_400
        with self.store.db.write() as conn:
            rows = conn.execute(
                "SELECT kb, key, file FROM b_objects WHERE bucket = ? AND last_modified < ?", (self.name, cutoff)
            ).fetchall()
            for kb, key, _ in rows:
                conn.execute("DELETE FROM b_objects WHERE bucket = ? AND kb = ?", (self.name, kb))
                self._events(conn, "deleted", "LifecycleExpiration:Delete", key, 0, "")
        for _, _, file_id in rows:
            self._unlink(file_id)
        return len(rows)

    def pending_events(self) -> int:
        return self.store.db.conn.execute("SELECT count(*) FROM b_events WHERE bucket = ?", (self.name,)).fetchone()[0]

    def deliver_due(self, limit: int = 20) -> int:
        from ..runtime.delivery import backoff

        now = time.time()
        with self.store.db.write() as conn:
            rows = conn.execute(
                "SELECT seq, watcher, record, attempts FROM b_events WHERE bucket = ? AND next_at <= ? "
                "ORDER BY seq LIMIT ?",
                (self.name, now, limit),
            ).fetchall()
            conn.executemany("UPDATE b_events SET next_at = ? WHERE seq = ?", [(now + 60, r[0]) for r in rows])
        for seq, watcher, record, attempts in rows:
            try:
                s3.handle(self.bucket.watchers[watcher], {"Records": [json.loads(record)]}, self.usage or OFF)
            except Exception as exc:
                attempts += 1
                with self.store.db.write() as conn:
                    if attempts >= MAX_EVENT_ATTEMPTS:
                        log.error("object event handler failed %d times, dropped: %s", attempts, exc)
                        conn.execute("DELETE FROM b_events WHERE seq = ?", (seq,))
                    else:
                        conn.execute(
                            "UPDATE b_events SET attempts = ?, next_at = ? WHERE seq = ?",
                            (attempts, time.time() + backoff(attempts), seq),
                        )
                continue
            with self.store.db.write() as conn:
                conn.execute("DELETE FROM b_events WHERE seq = ?", (seq,))
        return len(rows)
