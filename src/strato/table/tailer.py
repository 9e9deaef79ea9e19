"""The local stand-in for a DynamoDB Streams event source mapping: tails a table's change log for one
handler, hands each batch to the Streams dispatcher, retries a failing batch, checkpoints."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from ..core.usage import Counter
from ..dispatch import dynamodb_stream
from ..events.dynamodb_stream import stream_record
from ..runtime.work import Loop
from .stream import StreamHandler

if TYPE_CHECKING:
    from . import Table
    from .local import LocalTableBackend


class StreamTailer:
    """Reads one table's change log for one handler, from its checkpoint on."""

    def __init__(self, handler: StreamHandler, usage: Counter) -> None:
        self.spec = handler
        self.usage = usage
        self.backend = cast("LocalTableBackend", handler.table.backend)  # the tailer runs for local tables only
        self.physical = handler.table.physical_name
        self.attempts = 0
        self.backend.register(handler.name)  # a new consumer's checkpoint is set now: LATEST
        self.next_housekeeping = 0.0

    def step(self) -> int:
        if time.monotonic() >= self.next_housekeeping:
            self.next_housekeeping = time.monotonic() + 1.0
            self.backend.prune_changes(time.time())
            if self.spec.table.schema.ttl:  # TTL removes must reach handlers under `strato worker` too
                self.backend.sweep_expired(time.time())
        rows = self.backend.changes_after(self.spec.name, self.spec.batch_size)
        if not rows:
            return 0
        event = {
            "Records": [
                stream_record(self.physical, seq, ev, keys, old, new, at, ttl)
                for seq, ev, keys, old, new, at, ttl in rows
            ]
        }
        result = dynamodb_stream.handle(self.spec, event, self.usage)
        failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
        if failed:
            self.attempts += 1
            first_failed = int(min(failed))
            done_upto = first_failed - 1  # everything before the first failure succeeded, in order
            if self.attempts >= self.spec.max_attempts:
                import logging

                logging.getLogger("strato.stream").error(
                    "change handler %s failed %d times on sequence %s; skipping it",
                    self.spec.name,
                    self.attempts,
                    failed[0],
                )
                done_upto, self.attempts = first_failed, 0
            else:
                time.sleep(min(0.05 * 2**self.attempts, 1.0))
        else:
            done_upto, self.attempts = rows[-1][0], 0
        self.backend.checkpoint(self.spec.name, done_upto)
        return len(rows)


def stream_loops(table: Table, usage: Counter) -> list[Loop]:
    """One loop per ``@table.on_change`` handler; a commit in this process wakes it at once, one in
    another process within 10 ms."""
    loops = []
    for spec in table.stream_handlers:
        tailer = StreamTailer(spec, usage)
        changed = tailer.backend.store.changed

        def step(tailer: StreamTailer = tailer, changed: Any = changed) -> int:
            seen = changed.generation
            done = tailer.step()
            if not done:
                changed.wait(seen, 0.01)
            return done

        loops.append(Loop(f"stream:{spec.name}", step))
    return loops
