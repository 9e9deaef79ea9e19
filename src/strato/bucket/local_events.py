"""What S3 does for a bucket by itself, locally: event notifications to ``@bucket.on_change`` watchers
(queued in the object's own transaction, delivered with retries by the worker) and lifecycle expiry."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ..core import clock
from ..core.usage import OFF
from ..dispatch import s3
from ..events.s3 import s3_record
from ..runtime.aws import region
from ..runtime.delivery import Outbox
from ..runtime.work import Loop
from ..trace.context import outgoing_header  # the writer's trace: the watcher continues it

if TYPE_CHECKING:
    from ..core.usage import Counter
    from . import Bucket
    from .local import BucketStore

log = logging.getLogger("strato.bucket")

MAX_EVENT_ATTEMPTS = 3
LIFECYCLE_EVERY_S = 60.0  # S3 applies lifecycle rules about once a day; locally a minute is plenty


class LocalObjectEvents:
    """Mixed into ``LocalBucketBackend``, whose store and bucket it uses."""

    if TYPE_CHECKING:
        name: str
        store: BucketStore
        bucket: Bucket
        usage: Counter | None
        events: Outbox

        def _unlink(self, file_id: str | None) -> None: ...
        def sweep_versions(self, now: float) -> int: ...

    def _events(self, conn: Any, kind: str, name: str, key: str, size: int, etag: str) -> None:
        for index, watcher in enumerate(self.bucket.watchers):
            if watcher.wants(kind, key):
                record = s3_record(name, self.bucket.physical_name, key, size, etag, region())
                if (trace := outgoing_header()) is not None:
                    record["strato:trace"] = trace
                self.events.add(conn, self.name, index, json.dumps(record))

    def background(self, bucket: Bucket) -> list[Loop]:
        """S3's own jobs locally: event notifications to watchers, and lifecycle expiry."""
        loops = [Loop(f"lifecycle:{self.name}", lambda: self.sweep(clock.now()), idle=LIFECYCLE_EVERY_S)]
        if bucket.watchers:
            loops.append(Loop(f"object-events:{self.name}", self.deliver_due, idle=0.05, drain=self.deliver_due))
        return loops

    def sweep(self, now: float) -> int:
        """Expire objects older than ``expire_after_days`` (S3 lifecycle rules run about daily)."""
        if self.bucket.versioning:
            return self.sweep_versions(now)
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
        return self.events.pending(self.name)

    def deliver_due(self, limit: int = 20) -> int:
        rows = self.events.lease(self.name, limit)
        for seq, watcher, record, attempts in rows:
            try:
                s3.handle(self.bucket.watchers[watcher], {"Records": [json.loads(record)]}, self.usage or OFF)
            except Exception as exc:
                give_up = attempts + 1 >= MAX_EVENT_ATTEMPTS
                if give_up:
                    log.error("object event handler failed %d times, dropped: %s", attempts + 1, exc)
                self.events.failed(seq, attempts + 1, f"{type(exc).__name__}: {exc}", give_up)
            else:
                self.events.done(seq)
        return len(rows)
