"""The baseline: the same schema on Strawberry's own ASGI app (run under uvicorn like strato dev)."""

from strawberry.asgi import GraphQL

from benchmarks.apps.graphql_schema import schema

app = GraphQL(schema, graphql_ide=None)
