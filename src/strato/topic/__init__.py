"""The topic primitive: SNS publish / subscribe with filter policies, locally and on AWS.

Subscribers are handlers (``@topic.subscribe``), queues (``topic.subscribe_queue``), and, at run time,
HTTP(S) webhooks, email addresses and phone numbers. Locally, a publish is one SQLite transaction
that enqueues to subscribed queues, records deliveries for handlers and webhooks (retried with
backoff, then dead-lettered) and writes email/SMS into an outbox you can read.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from functools import cache

from ..core import outbox
from ..core.config import env_token, region
from ..core.context import Context
from ..core.errors import ConfigurationError, ItemTooLarge, ValidationError, parse_json
from ..core.hints import TYPE_CHECKING, Any, cast
from ..core.permissions import requires
from ..core.resource import Resource
from ..events import ACCOUNT_ID  # loaded on every cold start anyway (as core.config): no import per call
from ..queue import Queue
from ..queue.message import MAX_BATCH, decode_attributes, encode_attributes, encode_body, message_size
from .filter import matches, validate
from .spi import ACTIONS, CAPABILITIES, Deliveries, TopicBackend

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

log = logging.getLogger("strato.topic")

__all__ = ["CAPABILITIES", "MAX_PUBLISH_BYTES", "Notification", "Subscription", "Topic", "matches", "validate"]

MAX_PUBLISH_BYTES = 262_144  # SNS: 256 KiB for message + attributes
MAX_SUBJECT = 100
PROTOCOLS = ("lambda", "sqs", "http", "https", "email", "sms")


@dataclass
class Subscription:
    """One subscription, named by its SNS-style ARN."""

    arn: str
    protocol: str
    endpoint: str
    filter: dict[str, Any] | None = None
    scope: str = "attributes"
    raw: bool = False
    status: str = "confirmed"  # or "pending" until an HTTP/email endpoint confirms
    max_attempts: int = 3
    handler: Callable[..., Any] | Queue | None = field(default=None, repr=False)  # a Queue for protocol "sqs"
    dlq: Any = field(default=None, repr=False)

    def accepts(self, body: str, attributes: dict[str, dict[str, Any]]) -> bool:
        sns_attrs = {n: {"Type": a["DataType"], "Value": a.get("StringValue", "")} for n, a in attributes.items()}
        return matches(self.filter, attributes=sns_attrs, body=body, scope=self.scope)

    def as_dict(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "protocol": self.protocol,
            "endpoint": self.endpoint,
            "filter": self.filter,
            "scope": self.scope,
            "raw": self.raw,
            "status": self.status,
        }


@dataclass
class Notification:
    """What a topic handler receives: one SNS message."""

    message_id: str
    topic_arn: str
    body: str
    attributes: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    timestamp: str = ""
    subscription_arn: str = ""

    def json(self) -> Any:
        return parse_json(self.body, f"notification {self.message_id} body")

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Notification:
        """The record's message. An attribute that does not decode (a Binary value that is not base64,
        say, in an event built by hand) is left out of ``attributes`` with a warning naming it: the
        message and its other attributes still reach the handler, rather than the event failing."""
        r = _sns_events().SnsRecord.read(record)

        def skip(name: str, why: str) -> None:
            log.warning("notification %s: attribute %r left out: %s", r.message_id, name, why)

        return cls(
            r.message_id,
            r.topic_arn,
            r.message,
            decode_attributes(r.attributes, skip),
            r.subject,
            r.timestamp,
            r.subscription_arn,
        )


def _check_endpoint(protocol: str, endpoint: str) -> str:
    if not isinstance(endpoint, str) or not endpoint:
        raise ValidationError(f"a {protocol} subscription needs an endpoint")
    if protocol in ("http", "https") and not endpoint.startswith(f"{protocol}://"):
        raise ValidationError(f"a {protocol} endpoint must start with {protocol}://, got {endpoint!r}")
    if protocol == "email" and ("@" not in endpoint or " " in endpoint or endpoint.startswith("@")):
        raise ValidationError(f"{endpoint!r} is not an email address")
    if protocol == "sms":
        digits = endpoint[1:] if endpoint.startswith("+") else ""
        if not digits.isdigit() or not 8 <= len(digits) <= 15:
            raise ValidationError(f"{endpoint!r} is not an E.164 phone number (like +14155550100)")
    return endpoint


class Topic(Resource[TopicBackend]):
    """A topic declared with ``app.topic(name)``."""

    kind = "topic"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self,
        ctx: Context,
        name: str,
        *,
        fifo: bool = False,
        content_dedup: bool = False,
        provider: str | None = None,
        allow: Any = None,
    ) -> None:
        super().__init__(ctx, name, provider, allow)
        self.fifo = fifo
        self.content_dedup = content_dedup
        self.declared: list[Subscription] = []  # handler and queue subscriptions written in code
        self.webhooks_dlq: Queue | None = None  # where failed run-time webhook deliveries go (set by the app)

    @property
    def physical_name(self) -> str:
        name = self.config.physical_name("topic", self.name)
        return f"{name}.fifo" if self.fifo and not name.endswith(".fifo") else name

    @property
    def arn(self) -> str:
        """The topic ARN: ``STRATO_TOPIC_<NAME>_ARN`` (set by the template) or a local stand-in."""
        return (
            os.environ.get(f"STRATO_TOPIC_{env_token(self.name)}_ARN")
            or f"arn:aws:sns:{region()}:{ACCOUNT_ID}:{self.physical_name}"
        )

    # -- publishing -----------------------------------------------------------------------------
    def _entry(
        self, body: Any, attributes: dict | None, subject: str | None, group: str | None, dedup_id: str | None
    ) -> dict[str, Any]:
        text = encode_body(body)
        attrs = encode_attributes(attributes)
        size = message_size(text, attrs)
        if size > MAX_PUBLISH_BYTES:
            raise ItemTooLarge(
                f"message for topic {self.name!r} is {size} bytes; SNS allows {MAX_PUBLISH_BYTES} "
                "(256 KiB): publish a bucket key instead"
            )
        if subject is not None and (
            not isinstance(subject, str)
            or not subject
            or len(subject) > MAX_SUBJECT
            or any(c in subject for c in "\n\r")
        ):
            raise ValidationError(f"subject must be 1-{MAX_SUBJECT} characters on one line")
        if self.fifo:
            if not group:
                raise ValidationError(f"FIFO topic {self.name!r} needs a message group")
            if dedup_id is None and not self.content_dedup:
                raise ValidationError(f"FIFO topic {self.name!r} needs dedup_id (or content_dedup=True)")
        elif group is not None or dedup_id is not None:
            raise ValidationError(f"topic {self.name!r} is not FIFO: group and dedup_id are for FIFO topics")
        from ..trace.context import outgoing_header  # a loaded module after the first publish

        entry = {"body": text, "attributes": attrs, "subject": subject, "group": group, "dedup_id": dedup_id}
        entry["trace"] = outgoing_header()  # the publisher's trace: deliveries continue it
        return entry

    @requires("publish")
    def publish(
        self,
        body: Any,
        *,
        attributes: dict[str, Any] | None = None,
        subject: str | None = None,
        group: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        """Publish one message (str or JSON-able) to every subscriber whose filter accepts it."""
        entry = self._entry(body, attributes, subject, group, dedup_id)
        ids = self.backend.publish([entry])
        if outbox.listeners:
            self._tell([entry], ids)
        return ids[0]

    @requires("publish")
    def publish_batch(
        self, bodies: Iterable[Any], *, attributes: dict[str, Any] | None = None, group: str | None = None
    ) -> list[str]:
        entries = [self._entry(b, attributes, None, group, None) for b in bodies]
        if not 1 <= len(entries) <= MAX_BATCH:
            raise ValidationError(f"publish_batch takes 1 to {MAX_BATCH} messages, got {len(entries)}")
        ids = self.backend.publish(entries)
        if outbox.listeners:
            self._tell(entries, ids)
        return ids

    def _tell(self, entries: list[dict[str, Any]], ids: list[str]) -> None:
        for entry, message_id in zip(entries, ids, strict=False):
            outbox.tell("topic", self.name, {"id": message_id, **{k: v for k, v in entry.items() if k != "trace"}})

    def _check_filter(self, policy: dict[str, Any] | None, scope: str, *, declared: bool) -> None:
        """A valid policy for its scope; one on the message body needs ``filter_body`` (checked when the
        backend opens for subscriptions declared in code, at once for those made at run time)."""
        if policy is None:
            if scope not in ("attributes", "body"):
                validate({"k": ["v"]}, scope)
            return
        validate(policy, scope)
        if scope == "body":
            if declared:
                self._need_once_open("filter_body")
            else:
                self._need("filter_body")

    def required_capabilities(self) -> set[str]:
        needs = {"fifo"} if self.fifo else set()
        if any(s.filter is not None and s.scope == "body" for s in self.declared):
            needs.add("filter_body")
        return needs

    # -- subscriptions declared in code ---------------------------------------------------------
    def subscribe(
        self, *, filter: dict[str, Any] | None = None, filter_scope: str = "attributes", max_attempts: int = 3
    ) -> Callable:
        """``@topic.subscribe(filter={...})`` runs ``handler(notification)`` for each accepted message.

        A handler that raises is retried (``max_attempts`` in all, with backoff), then the message
        goes to ``<topic>-<handler>-dlq``.
        """
        self._check_filter(filter, filter_scope, declared=True)

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            handler = re.sub(r"[^A-Za-z0-9]+", "-", fn.__name__).strip("-") or "handler"
            taken = {s.arn.rsplit(":", 1)[-1] for s in self.declared}
            unique, n = handler, 1
            while unique in taken:
                n += 1
                unique = f"{handler}-{n}"
            name = f"{self.name}-{unique}"[:54]
            dlq = self.ctx.declare(Queue(self.ctx, f"{name}-dlq", retention=14 * 86_400, provider=self.provider_name))
            self.declared.append(
                Subscription(
                    f"{self.arn}:handler:{unique}",
                    "lambda",
                    f"{self.ctx.app_name}:{fn.__module__}.{fn.__qualname__}",
                    filter,
                    filter_scope,
                    True,
                    "confirmed",
                    max_attempts,
                    fn,
                    dlq,
                )
            )
            return fn

        return register

    def subscribe_queue(
        self, queue: Queue, *, filter: dict[str, Any] | None = None, filter_scope: str = "attributes", raw: bool = True
    ) -> Subscription:
        """Deliver accepted messages into ``queue``. ``raw=True`` (strato's default; SNS's is false) sends
        the message itself with its attributes; ``raw=False`` sends the SNS JSON envelope."""
        self._check_filter(filter, filter_scope, declared=True)
        if queue.fifo != self.fifo:
            raise ConfigurationError("a FIFO topic delivers only to FIFO queues, and a standard one to standard")
        sub = Subscription(f"{self.arn}:queue:{queue.name}", "sqs", queue.name, filter, filter_scope, raw)
        sub.handler = queue
        self.declared.append(sub)
        return sub

    # -- subscriptions made at run time ---------------------------------------------------------
    @requires("subscribe")
    def add_subscription(
        self,
        protocol: str,
        endpoint: str,
        *,
        filter: dict[str, Any] | None = None,
        filter_scope: str = "attributes",
        raw: bool = False,
        max_attempts: int = 4,
    ) -> Subscription:
        """Subscribe an http(s) webhook, email address or phone number (SNS Subscribe)."""
        if protocol not in ("http", "https", "email", "sms"):
            raise ValidationError(f"protocol must be http, https, email or sms, got {protocol!r}")
        self._need({"http": "webhooks", "https": "webhooks"}.get(protocol, protocol))
        self._check_filter(filter, filter_scope, declared=False)
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or not 1 <= max_attempts <= 100:
            raise ValidationError("max_attempts must be 1 to 100")
        status = "confirmed" if protocol == "sms" else "pending"
        sub = Subscription(
            "", protocol, _check_endpoint(protocol, endpoint), filter, filter_scope, raw, status, max_attempts
        )
        return self.backend.subscribe(sub)

    def subscribe_webhook(self, url: str, **options: Any) -> Subscription:
        return self.add_subscription("https" if url.startswith("https://") else "http", url, **options)

    def subscribe_email(self, address: str, **options: Any) -> Subscription:
        return self.add_subscription("email", address, **options)

    def subscribe_sms(self, number: str, **options: Any) -> Subscription:
        return self.add_subscription("sms", number, **options)

    @requires("subscribe")
    def unsubscribe(self, subscription: Subscription | str) -> None:
        self.backend.unsubscribe(subscription.arn if isinstance(subscription, Subscription) else subscription)

    @requires("subscribe")
    def subscriptions(self) -> list[Subscription]:
        """Every subscription: declared in code and made at run time."""
        return self.backend.subscriptions()

    @requires("subscribe")
    def confirm(self, token: str) -> Subscription:
        """Confirm a pending http/email subscription with the token its confirmation message carried."""
        return self.backend.confirm(token)

    def outbox(self, protocol: str | None = None) -> list[dict[str, Any]]:
        """Email and SMS the local provider 'sent' (newest last)."""
        self._need("outbox")
        return self.backend.outbox(protocol)

    def background_work(self) -> bool:
        return True  # SNS delivers to handlers and webhooks by itself

    def drop(self) -> None:
        self.backend.drop()
        self._backend = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery of this topic to its handlers and webhooks is pending (for tests and
        scripts). Only a provider that delivers them itself (``handler_delivery``) can tell: SNS delivers
        on its own, out of sight, so there it is NotSupported rather than a True that means nothing."""
        self._need("handler_delivery")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not cast(Deliveries, self.backend).pending():
                return True
            time.sleep(0.02)
        return False


@cache
def _sns_events() -> Any:
    """``strato.events.sns``, loaded when a notification first arrives rather than at import (and then
    once: an import statement per notification cost about 1 µs)."""
    from ..events import sns

    return sns
