"""``outbox``: what the app under test sent — queue messages, topic publishes, WebSocket posts — in order,
whichever handler or thread sent it, and what a user pool would have emailed or texted."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..core import outbox as core_outbox

if TYPE_CHECKING:
    from ..app import App


class Sent:
    """One thing sent: ``kind`` (queue, topic, websocket), ``name`` (of the resource) and ``details``.
    ``body`` is the message text (the WebSocket payload for posts), ``json()`` decodes it, ``attributes``
    are the message attributes as plain values."""

    def __init__(self, kind: str, name: str, details: dict[str, Any]) -> None:
        self.kind, self.name, self.details = kind, name, details

    @property
    def body(self) -> Any:
        return self.details["data"] if self.kind == "websocket" else self.details.get("body")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def attributes(self) -> dict[str, Any]:
        """``{"kind": "created"}`` from SQS/SNS's ``{"kind": {"DataType": "String", "StringValue": ...}}``."""
        plain = {}
        for name, value in (self.details.get("attributes") or {}).items():
            if isinstance(value, dict):
                plain[name] = value.get("StringValue", value.get("BinaryValue", value.get("Value")))
            else:
                plain[name] = value
        return plain

    def __getitem__(self, key: str) -> Any:
        return self.details[key]

    def __repr__(self) -> str:
        return f"<Sent {self.kind} {self.name} {str(self.body)[:60]!r}>"


class Outbox:
    """Listens while the test runs (``start``/``stop``: the plugin does it). ``outbox.queue("jobs")``,
    ``outbox.topic("events")``, ``outbox.websocket("live", to=connection_id)``, ``outbox.mail()``."""

    def __init__(self, app_of: Any = None) -> None:
        self._app_of = app_of
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def _hear(self, kind: str, name: str, details: dict[str, Any]) -> None:
        if kind == "metric":
            return
        with self._lock:
            self.sent.append(Sent(kind, name, details))

    def start(self) -> Outbox:
        core_outbox.listeners.append(self._hear)
        return self

    def stop(self) -> None:
        if self._hear in core_outbox.listeners:
            core_outbox.listeners.remove(self._hear)

    def _of(self, kind: str, name: str | None) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.kind == kind and (name is None or s.name == name)]

    def queue(self, name: str | None = None) -> list[Sent]:
        """Messages sent to queue ``name`` (every queue when None), oldest first."""
        return self._of("queue", name)

    def topic(self, name: str | None = None) -> list[Sent]:
        """Messages published to topic ``name`` (every topic when None)."""
        return self._of("topic", name)

    def websocket(self, name: str | None = None, *, to: str | None = None) -> list[Sent]:
        """Posts to WebSocket API ``name``; with ``to``, those that reached that connection (broadcasts
        to everyone included)."""
        found = self._of("websocket", name)
        if to is None:
            return found
        return [s for s in found if s.details["to"] is None or to in s.details["to"]]

    def mail(self, pool: str = "") -> list[dict[str, Any]]:
        """The codes and temporary passwords the app's user pool would have emailed or texted (local pool)."""
        from .users import pool_of

        if self._app_of is None:
            raise LookupError("this outbox is not bound to an app")
        return list(pool_of(self._app_of(), pool).outbox())

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()

    def __iter__(self) -> Iterator[Sent]:
        with self._lock:
            return iter(list(self.sent))

    def __len__(self) -> int:
        return len(self.sent)

    def __repr__(self) -> str:
        return f"<Outbox {len(self.sent)} sent>"


def bound(app: App) -> Outbox:
    return Outbox(lambda: app)
