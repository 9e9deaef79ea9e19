"""Change streams: DynamoDB Streams records (NEW_AND_OLD_IMAGES) for ``@table.on_change`` handlers.

Locally each write of a table with handlers appends to a change log in the same SQLite transaction
as the item, so a change is never lost and never reported for a write that rolled back; the worker
tails the log in order, hands batches to the same dispatcher a DynamoDB Streams event source mapping
feeds on AWS, and checkpoints after each batch, so a restart resumes where it stopped (at least once).
TTL deletions appear as REMOVE records with DynamoDB's service identity.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .aws import from_av, item_to_av

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


@dataclass
class StreamHandler:
    table: Any
    handler: Callable[..., Any]
    batch_size: int = 100
    batch: bool = False
    max_attempts: int = 3

    @property
    def name(self) -> str:
        return f"{self.table.name}:{getattr(self.handler, '__name__', 'handler')}"


class ChangeRecord:
    """One change: ``event`` is INSERT / MODIFY / REMOVE, ``keys``, ``old`` and ``new`` plain dicts."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.event: str = record["eventName"]
        data = record["dynamodb"]
        self.sequence: str = data["SequenceNumber"]
        self.keys = {k: from_av(v) for k, v in data.get("Keys", {}).items()}
        self.old = {k: from_av(v) for k, v in data["OldImage"].items()} if "OldImage" in data else None
        self.new = {k: from_av(v) for k, v in data["NewImage"].items()} if "NewImage" in data else None
        self.by_ttl = record.get("userIdentity") == TTL_IDENTITY

    def __repr__(self) -> str:
        return f"<ChangeRecord {self.event} {self.keys}>"


def stream_record(
    table: Any, seq: int, event: str, keys: dict, old: dict | None, new: dict | None, at: float, by_ttl: bool = False
) -> dict[str, Any]:
    from ..aws import region
    from ..events import ACCOUNT_ID

    data: dict[str, Any] = {
        "ApproximateCreationDateTime": int(at),
        "Keys": item_to_av(keys),
        "SequenceNumber": f"{seq:021d}",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        data["NewImage"] = item_to_av(new)
    if old is not None:
        data["OldImage"] = item_to_av(old)
    data = json.loads(json.dumps(data, default=_json_bytes))  # as Lambda's JSON carries it: B as base64
    data["SizeBytes"] = len(json.dumps(data))
    physical = table.app.config.physical_name(table.kind, table.name)
    record = {
        "eventID": f"{seq:032x}",
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region(),
        "dynamodb": data,
        "eventSourceARN": f"arn:aws:dynamodb:{region()}:{ACCOUNT_ID}:table/{physical}/stream/local",
    }
    if by_ttl:
        record["userIdentity"] = TTL_IDENTITY
    return record


def _json_bytes(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    return str(value)


class StreamTailer:
    """Reads one table's change log for one handler, from its checkpoint on."""

    def __init__(self, handler: StreamHandler, dispatcher: Any) -> None:
        self.spec = handler
        self.dispatcher = dispatcher
        self.backend = handler.table.backend
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
                stream_record(self.spec.table, seq, ev, keys, old, new, at, ttl)
                for seq, ev, keys, old, new, at, ttl in rows
            ]
        }
        result = self.dispatcher.handle_stream(self.spec, event)
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
