"""What resolvers get as ``info.context``, and the event source subscription resolvers iterate over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any


class GraphQLContext:
    """``info.context`` of every resolver: the caller's verified ``claims`` (``{}`` without auth), the
    HTTP ``request`` (None over the WebSocket API), the ``connection_id`` (None over HTTP), and for a
    subscription, the event being ``published``."""

    __slots__ = ("_claims", "connection_id", "headers", "published", "read_claims", "request")

    def __init__(
        self,
        claims: dict[str, Any] | None = None,
        request: Any = None,
        headers: dict[str, str] | None = None,
        connection_id: str | None = None,
        published: tuple[Any, ...] = (),
    ) -> None:
        self._claims = claims or {}
        self.read_claims = False  # whether a resolver looked at who is asking (publish shares results if not)
        self.request = request
        self.headers = headers if headers is not None else (request.headers if request is not None else {})
        self.connection_id = connection_id
        self.published = published

    @property
    def claims(self) -> dict[str, Any]:
        self.read_claims = True
        return self._claims

    @property
    def user(self) -> str | None:
        """The caller's ``sub`` claim: who is asking, when the API has ``auth=``."""
        return self.claims.get("sub")

    def __repr__(self) -> str:
        return f"<GraphQLContext user={self.user} connection={self.connection_id}>"


async def published(info: Any) -> AsyncIterator[Any]:
    """The events a subscription resolver receives: ``async for event in published(info): yield ...``.

    Each ``graph.publish(field, event)`` runs the subscriptions of ``field`` with that one event (in
    whatever process publishes, across Lambda invocations); yield nothing to filter it out.
    """
    context = info.context
    if not isinstance(context, GraphQLContext):
        raise TypeError("published(info) works under strato's GraphQL API (app.graphql), whose context it reads")
    for event in context.published:
        yield event
