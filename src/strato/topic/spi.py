"""The topic provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from ..core.hints import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from . import Subscription

CAPABILITIES = frozenset({"fifo", "filter_body", "webhooks", "email", "sms", "outbox", "handler_delivery"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {
    "publish": ("sns:Publish",),
    "subscribe": (
        "sns:Subscribe",
        "sns:Unsubscribe",
        "sns:ListSubscriptionsByTopic",
        "sns:GetSubscriptionAttributes",
        "sns:ConfirmSubscription",
    ),
}


class TopicBackend(Protocol):
    capabilities: frozenset[str]

    def publish(self, entries: list[dict[str, Any]]) -> list[str]: ...
    def subscribe(self, sub: Subscription) -> Subscription: ...
    def unsubscribe(self, arn: str) -> None: ...
    def subscriptions(self) -> list[Subscription]: ...
    def confirm(self, token: str) -> Subscription: ...
    def outbox(self, protocol: str | None) -> list[dict[str, Any]]: ...
    def ensure(self) -> None: ...
    def drop(self) -> None: ...


class Deliveries(Protocol):
    """A backend with ``handler_delivery`` delivers to handlers itself and can say how many are pending."""

    def pending(self) -> int: ...
