"""The queue provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from ..core.hints import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from . import Outgoing
    from .message import Message, QueueStats

CAPABILITIES = frozenset({"fifo", "dlq", "long_poll", "delay", "oldest_age"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {
    "send": ("sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"),
    "receive": (
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:GetQueueAttributes",
    ),
    "purge": ("sqs:PurgeQueue", "sqs:GetQueueUrl"),
}


class QueueBackend(Protocol):
    capabilities: frozenset[str]

    def send(self, messages: list[Outgoing], now: float) -> list[str]: ...
    def receive(self, limit: int, visibility: int, wait: float, bill_empty: bool = True) -> list[Message]:
        """Lease up to ``limit``; ``bill_empty=False`` (the local event source mapping) counts only a receive
        that got messages: ``strato cost`` prices the mapping's idle polling as AWS runs it instead."""
        ...

    def delete(self, receipts: list[str]) -> None: ...
    def change_visibility(self, receipt: str, seconds: int) -> None: ...
    def purge(self) -> None: ...
    def stats(self) -> QueueStats: ...
    def arn(self) -> str:
        """The queue's ARN (SQS's own on AWS; the stand-in strato puts in local events)."""
        ...

    def ensure(self) -> None: ...
    def drop(self) -> None: ...
