"""The baseline: the same schema on Strawberry's own ASGI app (run under uvicorn like strato dev)."""

from benchmarks.apps.graphql_schema import schema
from strawberry.asgi import GraphQL

app = GraphQL(schema, graphql_ide=None)

from benchmarks.apps.graphql_schema import cached_schema  # noqa: E402

cached = GraphQL(cached_schema, graphql_ide=None)
