import strato
from benchmarks.apps.graphql_schema import schema

app = strato.App("graphql-bench")
graph = app.graphql(schema)
