"""A live metrics dashboard's GraphQL API (the analytics-dashboard seed): queries and a mutation over
HTTP, a ``metricUpdates`` subscription filtered by its ``name`` argument, published from a mutation, a
queue consumer (run by `strato worker`) and a table change stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

import strato
from strato.graphql import published

app = strato.App("dashboard")
users = app.user_pool()
readings = app.table("readings", key="name")
inbox = app.queue("readings-in")


@strawberry.type
class Metric:
    name: str
    value: float
    unit: str = "count"


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"hello {name}"

    @strawberry.field
    def metric(self, name: str) -> Metric | None:
        item = readings.get(name)
        return Metric(name=item["name"], value=float(item["value"])) if item else None

    @strawberry.field
    def whoami(self, info: strawberry.Info) -> str:
        return info.context.user or "anonymous"

    @strawberry.field
    async def later(self) -> str:
        return "async resolvers run too"

    @strawberry.field
    def boom(self) -> str:
        raise ValueError("resolver failed")

    @strawberry.field
    def nested(self, depth: int = 0) -> Nested:
        return Nested(level=depth)


@strawberry.type
class Nested:
    level: int

    @strawberry.field
    def child(self) -> Nested:
        return Nested(level=self.level + 1)


@strawberry.type
class Mutation:
    @strawberry.mutation
    def record(self, name: str, value: float) -> Metric:
        readings.put({"name": name, "value": str(value)})
        graph.publish("metricUpdates", {"name": name, "value": value, "source": "mutation"})
        return Metric(name=name, value=value)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def metric_updates(self, info: strawberry.Info, name: str | None = None) -> AsyncGenerator[Metric, None]:
        async for event in published(info):
            if name is None or event["name"] == name:  # the argument filters, in the schema
                yield Metric(name=event["name"], value=event["value"], unit=event.get("source", "count"))


schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
graph = app.graphql(schema, auth=True)


@inbox.consumer()
def from_queue(msg) -> None:
    body = msg.json()
    graph.publish("metricUpdates", {"name": body["name"], "value": body["value"], "source": "worker"})


@readings.on_change()
def from_stream(change) -> None:
    if change.new is not None and change.new.get("stream"):
        graph.publish("metricUpdates", {"name": change.new["name"], "value": 1.0, "source": "stream"})
