"""Active subscriptions, kept in the WebSocket API's connection registry so any process can serve them.

Each ``subscribe`` is one item of the registry table, in a partition of its own (``<api>:subscriptions``,
so the API's connections stay what ``connections()`` lists): id ``<connection id>#<operation id>``, with
the field it subscribes to (``topic``, an index of the registry), the document, the variables and
the claims of the connection. ``publish(field, event)`` — from a handler, a queue consumer, a change
stream, another process — reads that index, re-runs each subscription's selection on the event and
posts the results through ``@connections``: nothing lives in the memory of the process that accepted
the subscription, which on Lambda is gone after the message that created it.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from .context import GraphQLContext
from .engine import RequestError, formatted

if TYPE_CHECKING:
    from ..websocket import WebSocketApi
    from .engine import Engine

COMPACT = (",", ":")
TOPIC = "topic"  # the registry's index over subscriptions (connections have no such field)


class Subscriptions:
    def __init__(self, ws: WebSocketApi, engine: Engine) -> None:
        self.ws = ws
        self.engine = engine

    @property
    def table(self) -> Any:
        return self.ws.registry.table

    @property
    def partition(self) -> str:
        return f"{self.ws.name}:subscriptions"

    def _key(self, connection_id: str, operation_id: str) -> tuple[str, str]:
        return (self.partition, f"{connection_id}#{operation_id}")

    def add(
        self,
        connection_id: str,
        operation_id: str,
        field: str,
        message: dict[str, Any],
        claims: dict[str, Any],
    ) -> bool:
        """Store a subscription; False when the connection already has one with this id."""
        from ..core.errors import ConditionFailed

        item = {
            "api": self.partition,
            "id": f"{connection_id}#{operation_id}",
            TOPIC: field,
            "connection": connection_id,
            "operation": operation_id,
            "query": message["query"],
            "operation_name": message.get("operationName"),
            # JSON text: the registry stores numbers as decimals, and variables must come back as they were
            "variables": json.dumps(message.get("variables") or {}),
            "claims": json.dumps(claims),
            "expires_at": int(time.time()) + int(self.ws.max_duration) + 60,
        }
        try:
            self.table.put(item, if_absent=True)
        except ConditionFailed:
            return False
        return True

    def remove(self, connection_id: str, operation_id: str) -> None:
        self.table.delete(self._key(connection_id, operation_id))

    def forget(self, connection_id: str) -> int:
        """Drop every subscription of a connection (it closed, or a post found it gone)."""
        from ..table.model import Sort

        ids = [
            item["id"]
            for item in self.table.iterate(self.partition, sort=Sort.begins_with(f"{connection_id}#"), page_size=500)
        ]
        for item_id in ids:
            self.table.delete((self.partition, item_id))
        return len(ids)

    def of(self, field: str) -> list[dict[str, Any]]:
        return list(self.table.iterate(field, index=f"by_{TOPIC}", page_size=1000))

    async def deliver(self, field: str, event: Any) -> int:
        """Run every subscription of ``field`` on ``event`` and post the results; returns how many
        subscriptions got a message. Subscriptions with the same document and variables (many viewers of
        one dashboard) run once, unless a resolver reads the claims: then once per distinct claims."""
        groups: dict[tuple[str, Any, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for item in self.of(field):
            groups[(item["query"], item.get("operation_name"), item["variables"])][item["claims"]].append(item)
        outgoing: list[tuple[list[dict[str, Any]], list[str]]] = []  # (subscriptions, their next payloads)
        for (query, operation_name, variables), by_claims in groups.items():
            first = next(iter(by_claims))
            bodies, read_claims = await self._run(query, operation_name, variables, first, event)
            if not read_claims:  # the result is the same whoever asks: one run for the whole group
                outgoing.append(([i for items in by_claims.values() for i in items], bodies))
                continue
            outgoing.append((by_claims[first], bodies))
            for claims, items in list(by_claims.items())[1:]:
                bodies, _ = await self._run(query, operation_name, variables, claims, event)
                outgoing.append((items, bodies))
        return self._post(outgoing)

    async def _run(
        self, query: str, operation_name: str | None, variables: str, claims: str, event: Any
    ) -> tuple[list[str], bool]:
        """The ``next`` payloads of one subscription for ``event`` (none if its resolver filtered it out),
        and whether a resolver read the claims."""
        context = GraphQLContext(json.loads(claims), published=(event,))
        try:
            prepared = self.engine.prepare(query, operation_name)
            results = await self.engine.results_for(prepared, json.loads(variables), context)
        except RequestError as error:  # the schema changed under a stored subscription
            return [json.dumps(error.formatted, separators=COMPACT)], False
        bodies = []
        for result in results:
            self.engine.report(result, context)
            bodies.append(json.dumps(formatted(result)[0], default=str, separators=COMPACT))
        return bodies, context.read_claims

    def _post(self, outgoing: list[tuple[list[dict[str, Any]], list[str]]]) -> int:
        """Each payload as a ``next`` to each of its subscriptions, all in one ``send_batch`` (one request to the
        dev server from another process); how many subscriptions got at least one. The same text goes to
        every subscription with the same operation id, so a fleet of clients numbering their operations
        alike takes one broadcast per payload."""
        messages: list[tuple[list[str], str]] = []
        reached: list[str] = []
        for items, bodies in outgoing:
            by_operation: dict[str, list[str]] = defaultdict(list)
            for item in items:
                by_operation[item["operation"]].append(item["connection"])
            for payload in bodies:
                for operation_id, connections in by_operation.items():
                    messages.append(
                        (connections, f'{{"id":{json.dumps(operation_id)},"type":"next","payload":{payload}}}')
                    )
            if bodies:
                reached += [item["connection"] for item in items]
        gone = set(self.ws.send_batch(messages)) if messages else set()
        for connection_id in gone:
            self.forget(connection_id)
        return sum(1 for connection_id in reached if connection_id not in gone)
