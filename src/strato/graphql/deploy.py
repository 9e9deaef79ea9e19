"""A GraphQL API in CloudFormation: nothing of its own. Its routes (``GET`` and ``POST`` on its path, with
the JWT authorizer under ``auth=``) are the HTTP API's, its WebSocket API (routes per message type of
graphql-transport-ws, route responses for the two-way ones) and the registry's ``by_topic`` index are
the websocket's and the table's: their deploy modules synthesise them and grant ManageConnections on
exactly that API. This adds the URLs clients need as outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..deploy.names import logical

if TYPE_CHECKING:
    from ..deploy.synth import Template
    from . import GraphQL


def synth(t: Template, graph: GraphQL) -> None:
    t.output(
        logical(graph.name, "GraphQLUrl"),
        {"Fn::Sub": f"https://${{HttpApi}}.execute-api.${{AWS::Region}}.amazonaws.com{graph.path}"},
        f"GraphQL endpoint of {graph.name} (queries and mutations)",
    )


def arns(resource: GraphQL, action: str, stage: str) -> list[Any]:
    return []


def requirements(resource: GraphQL) -> list[str]:
    """What `strato package` installs for the functions: Strawberry (and graphql-core with it)."""
    return ["strawberry-graphql>=0.250"]
