"""The one partial-batch-failure runner behind SQS consumers and DynamoDB Streams handlers.

A batch handler takes the whole batch and may return the items (or their ids) that failed; raising
fails them all. A per-item handler is called once per item; an exception fails that item. With
``ordered`` (FIFO queues, streams) a failure also fails everything after it, so the retry keeps the
order: the "stop at the first failure and report the rest" rule AWS gives for FIFO queues and streams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .base import log_exception, run

T = TypeVar("T")


def run_batch(
    items: Sequence[T],
    handler: Callable[..., Any],
    *,
    batch: bool,
    ordered: bool,
    ident: Callable[[T], str],
    describe: Callable[[T], str],
    name: str,
) -> list[str]:
    """Run ``handler`` on ``items``; return the ids of the items that failed."""
    ids = [ident(item) for item in items]
    if batch:
        try:
            returned = run(handler(list(items))) or []
        except Exception:
            log_exception(f"batch handler {name} failed; all {len(items)} items will be retried")
            return ids
        failed = {r if isinstance(r, str) else ident(r) for r in returned}
        if ordered and failed:
            first = min(i for i, item_id in enumerate(ids) if item_id in failed) if failed & set(ids) else 0
            return ids[first:]
        return [i for i in ids if i in failed] + sorted(failed - set(ids))
    failures: list[str] = []
    for index, item in enumerate(items):
        try:
            run(handler(item))
        except Exception:
            log_exception(f"handler {name} failed on {describe(item)}")
            if ordered:
                return failures + ids[index:]
            failures.append(ids[index])
    return failures


def batch_response(failed: list[str]) -> dict[str, Any]:
    """Lambda's ReportBatchItemFailures answer."""
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
