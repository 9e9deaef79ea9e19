from benchmarks.apps.graphql_schema import schema

import strato

app = strato.App("graphql-bench")
graph = app.graphql(schema)
