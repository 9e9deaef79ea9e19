"""GraphQL on strato's own APIs: a Strawberry schema's queries and mutations on the HTTP API (GraphQL
over HTTP), its subscriptions on a WebSocket API (``graphql-transport-ws``), the same under ``strato dev``
and on Lambda.

``graph = app.graphql(schema)``; resolvers get a :class:`GraphQLContext` (claims, request) as
``info.context``; subscription resolvers iterate ``published(info)``; ``graph.publish("metricUpdates",
event)`` from any handler or process delivers ``event`` to every subscription of that field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..core.context import Context
from ..core.errors import ConfigurationError, ValidationError
from ..core.resource import Resource
from .context import GraphQLContext, published
from .engine import Engine, RequestError, run_sync
from .limits import Limits
from .persisted import PersistedQueries, document_id

if TYPE_CHECKING:
    from ..http import HttpApi, Request
    from ..http.response import Response
    from ..websocket import WebSocketApi

__all__ = ["GraphQL", "GraphQLContext", "Limits", "RequestError", "document_id", "published"]


class GraphQL(Resource[Any]):
    """A Strawberry schema served by the app (``app.graphql(schema, path="/graphql")``)."""

    kind = "graphql"

    def __init__(
        self,
        ctx: Context,
        name: str,
        schema: Any,
        *,
        http: HttpApi,
        websocket: WebSocketApi | None,
        path: str = "/graphql",
        auth: Any = None,
        groups: Iterable[str] | None = None,
        limits: Limits | None = None,
        persisted_queries: Mapping[str, str] | Iterable[str] | None = None,
        only_persisted: bool = False,
        graphiql: bool = False,
    ) -> None:
        super().__init__(ctx, name)
        if not hasattr(schema, "_schema") or not hasattr(schema, "execution_context_class"):
            raise ConfigurationError(f"app.graphql needs a strawberry.Schema, not {type(schema).__name__}")
        if not path.startswith("/") or "{" in path:
            raise ConfigurationError(f"GraphQL path {path!r} must start with '/' and have no parameters")
        self.schema = schema
        self.path = path
        self.auth_options: dict[str, Any] = {"auth": auth, "groups": list(groups) if groups else None}
        self.engine = Engine(schema, limits or Limits())
        self.persisted = PersistedQueries(persisted_queries, only_persisted)
        self.graphiql = graphiql
        self.http = http
        self.websocket = websocket
        options = {k: v for k, v in self.auth_options.items() if v}

        def graphql_endpoint(req: Request) -> Any:
            # a sync handler: resolvers run on a handler thread, as every strato handler does, so they may
            # call tables, queues and publish() (whose sends reach the dev server's loop) without blocking it
            from .over_http import handle

            return run_sync(handle(self, req))

        http.route(path, ("GET", "POST"), **options)(graphql_endpoint)
        if graphiql:  # strato dev only: never declared when synthesising, so never deployed

            def graphiql_page(req: Request) -> Response:
                return self.graphiql_page()

            def graphiql_asset(req: Request) -> Response:
                from .graphiql import asset

                return asset(req.params["name"])

            http.get(self.graphiql_path)(graphiql_page)
            http.get(f"{self.graphiql_path}/assets/{{name}}")(graphiql_asset)
        self.subscriptions: Any = None
        if websocket is not None:
            from .subscriptions import Subscriptions
            from .transport_ws import TransportWs

            self.subscriptions = Subscriptions(websocket, self.engine)
            TransportWs(self, websocket)

    @property
    def graphiql_path(self) -> str:
        """Where ``strato dev`` serves GraphiQL (``/graphql/graphiql``), its files under ``.../assets/``."""
        return f"{self.path.rstrip('/')}/graphiql"

    @property
    def websocket_url(self) -> str:
        """Where subscription clients connect (graphql-transport-ws)."""
        if self.websocket is None:
            raise ConfigurationError(f"GraphQL API {self.name!r}: the schema has no Subscription type")
        return self.websocket.url

    def publish(self, field: str, event: Any) -> int:
        """Deliver ``event`` to every subscription of ``field`` (``"metricUpdates"``), from any process:
        each subscription's resolver sees it through ``published(info)`` (and may filter it out), its
        selection runs on what the resolver yields, and the result is posted to its connection. Returns
        how many subscriptions got a message; closed connections are dropped on the way."""
        return int(run_sync(self.publish_async(field, event)))

    async def publish_async(self, field: str, event: Any) -> int:
        """:meth:`publish` for async code."""
        if self.subscriptions is None:
            raise ConfigurationError(f"GraphQL API {self.name!r}: the schema has no Subscription type to publish to")
        subscription_type = self.engine.graphql_schema.subscription_type
        if not isinstance(field, str) or field not in subscription_type.fields:
            raise ValidationError(
                f"{field!r} is not a subscription field of {self.name!r}; "
                f"it has {', '.join(sorted(subscription_type.fields))}"
            )
        return await self.subscriptions.deliver(field, event)

    def graphiql_page(self) -> Response:
        """GraphiQL for this API, on files served by strato (never a CDN): ``strato dev`` only."""
        from ..http.response import Response
        from .graphiql import page

        subscriptions = self.websocket_url if self.websocket is not None else None
        html = page(self.graphiql_path, self.name, self.path, subscriptions)
        return Response(html, 200, {"cache-control": "no-cache"}, content_type="text/html; charset=utf-8")

    def __repr__(self) -> str:
        return f"<GraphQL {self.name} {self.path}>"
