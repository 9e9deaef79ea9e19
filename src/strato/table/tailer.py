"""The local stand-in for the DynamoDB Streams event source mappings of one table: a single reader per
table reads its change log once, builds each record once, and hands it to every ``@table.on_change``
handler in order; each handler keeps its own position, retry count and back-off, so one failing
handler neither blocks nor re-runs the others.

Positions live in memory and are written to ``strato_checkpoints`` in one transaction at most every
``CHECKPOINT_EVERY_S`` and when the worker stops: a checkpoint write per delivered batch per handler
was what made five handlers slow (each one a write transaction contending with the writers). After a
crash, up to that interval of records is delivered again: at least once, as a stream mapping does.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

from ..core import clock
from ..core.usage import Counter
from ..dispatch import dynamodb_stream
from ..events.dynamodb_stream import TRACE_KEY, stream_record
from ..runtime.work import Loop
from .stream import StreamHandler

if TYPE_CHECKING:
    from . import Table
    from .local import LocalTableBackend

CHECKPOINT_EVERY_S = 0.5  # the most records re-delivered after a crash: this long's worth
HOUSEKEEPING_EVERY_S = 1.0  # prune day-old changes, sweep TTL (so TTL removes reach the handlers)
CROSS_PROCESS_POLL_S = 0.01  # a write in this process wakes the reader at once, one in another within this
log = logging.getLogger("strato.stream")


class Consumer:
    """One handler's place in the log: its position, failed attempts and when it may retry."""

    def __init__(self, spec: StreamHandler, position: int) -> None:
        self.spec = spec
        self.position = position
        self.attempts = 0
        self.retry_at = 0.0

    def deliver(self, records: list[dict[str, Any]], usage: Counter) -> None:
        """Run the handler on ``records`` (all after its position, in order) and move the position."""
        result = dynamodb_stream.handle(self.spec, {"Records": records}, usage)
        failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
        if not failed:
            self.position, self.attempts = int(records[-1]["dynamodb"]["SequenceNumber"]), 0
            return
        first_failed = int(min(failed))
        self.position = max(self.position, first_failed - 1)  # everything before the failure succeeded
        self.attempts += 1
        if self.attempts >= self.spec.max_attempts:
            log.error(
                "change handler %s failed %d times on sequence %s; skipping it",
                self.spec.name,
                self.attempts,
                failed[0],
            )
            self.position, self.attempts = first_failed, 0
        else:  # back off this handler only; the reader carries on with the others
            self.retry_at = time.monotonic() + min(0.05 * 2**self.attempts, 1.0)


class TableReader:
    """Reads one table's change log for all of its handlers."""

    def __init__(self, table: Table, usage: Counter) -> None:
        self.table = table
        self.usage = usage
        self.backend = cast("LocalTableBackend", table.backend)  # the reader runs for local tables only
        self.physical = table.physical_name
        names = [spec.name for spec in table.stream_handlers]
        for name in names:
            self.backend.register(name)  # a new consumer's checkpoint is set now: LATEST
        saved = self.backend.load_checkpoints(names)
        self.consumers = [Consumer(spec, saved[spec.name]) for spec in table.stream_handlers]
        self.saved = dict(saved)
        self.next_housekeeping = 0.0
        self.next_checkpoint = time.monotonic() + CHECKPOINT_EVERY_S

    def step(self) -> int:
        """Deliver what each ready handler has not seen yet (one read per distinct position); returns
        how many records were delivered in all."""
        now = time.monotonic()
        if now >= self.next_housekeeping:
            self.next_housekeeping = now + HOUSEKEEPING_EVERY_S
            self.backend.prune_changes(clock.now())
            if self.table.schema.ttl:
                self.backend.sweep_expired(clock.now())
        ready = [c for c in self.consumers if c.retry_at <= now]
        fetched: dict[int, list[dict[str, Any]]] = {}  # position -> records after it, built once
        built: dict[int, dict[str, Any]] = {}  # seq -> record, shared by the handlers that get it
        delivered = 0
        for consumer in ready:
            records = fetched.get(consumer.position)
            if records is None:
                limit = max(c.spec.batch_size for c in ready if c.position == consumer.position)
                records = fetched[consumer.position] = self._read(consumer.position, limit, built)
            records = records[: consumer.spec.batch_size]
            if records:
                consumer.deliver(records, self.usage)
                delivered += len(records)
        if time.monotonic() >= self.next_checkpoint:
            self.save()
        return delivered

    def _read(self, after: int, limit: int, built: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for seq, event, keys, old, new, at, ttl, trace in self.backend.changes_since(after, limit):
            record = built.get(seq)
            if record is None:
                record = built[seq] = stream_record(self.physical, seq, event, keys, old, new, at, ttl)
                if trace is not None:  # the writer's trace (DynamoDB Streams records carry none on AWS)
                    record[TRACE_KEY] = trace
            out.append(record)
        return out

    def save(self) -> None:
        """Write the positions that moved since the last save, in one transaction."""
        self.next_checkpoint = time.monotonic() + CHECKPOINT_EVERY_S
        moved = {c.spec.name: c.position for c in self.consumers if self.saved.get(c.spec.name) != c.position}
        if moved:
            self.backend.save_checkpoints(moved)
            self.saved.update(moved)


def stream_loops(table: Table, usage: Counter) -> list[Loop]:
    """One loop per table with ``@table.on_change`` handlers, however many handlers it has; a commit in
    this process wakes it at once, one in another process within ``CROSS_PROCESS_POLL_S``."""
    reader = TableReader(table, usage)
    changed = reader.backend.store.changed

    def step() -> int:
        seen = changed.generation
        done = reader.step()
        if not done:
            changed.wait(seen, CROSS_PROCESS_POLL_S)
        return done

    return [Loop(f"stream:{table.name}", step, close=reader.save, drain=reader.step)]
