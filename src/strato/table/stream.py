"""Change streams: DynamoDB Streams records (NEW_AND_OLD_IMAGES) for ``@table.on_change`` handlers.

Locally each write of a table with handlers appends to a change log in the same SQLite transaction
as the item, so a change is never lost and never reported for a write that rolled back; the worker
tails the log in order (``strato.table.tailer``), hands batches to the same dispatcher a DynamoDB
Streams event source mapping feeds on AWS, and checkpoints (batched, and at stop), so a restart resumes
where it stopped (at least once). TTL deletions appear as REMOVE records with DynamoDB's identity.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass

if TYPE_CHECKING:
    from . import Table


@dataclass
class StreamHandler:
    table: Table
    handler: Callable[..., Any]
    batch_size: int = 100
    batch: bool = False
    max_attempts: int = 3

    @property
    def name(self) -> str:
        return f"{self.table.name}:{getattr(self.handler, '__name__', 'handler')}"
