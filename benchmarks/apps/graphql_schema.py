"""The schema both GraphQL benchmark servers serve: a simple query, and a subscription whose events carry
the time they were published (``t``), so clients measure publish-to-arrival latency."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
import strawberry.extensions


@strawberry.type
class Tick:
    n: int
    t: float


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"hello {name}"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, info: strawberry.Info) -> AsyncGenerator[Tick, None]:
        from strato.graphql import published

        async for event in published(info):
            yield Tick(n=event["n"], t=event["t"])


schema = strawberry.Schema(query=Query, subscription=Subscription)

# Strawberry's opt-in caches of parsed and validated documents (strato caches both itself): the fairer baseline
cached_schema = strawberry.Schema(
    query=Query,
    subscription=Subscription,
    extensions=[strawberry.extensions.ParserCache(), strawberry.extensions.ValidationCache()],
)
