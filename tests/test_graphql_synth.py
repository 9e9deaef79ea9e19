"""strato synth of a GraphQL API: its HTTP routes behind the JWT authorizer, a WebSocket API routed by
graphql-transport-ws message type, the registry's by_topic index, and nothing granted beyond them."""

from __future__ import annotations

import json
import subprocess

import pytest

from strato.deploy.synth import synth
from strato.loader import load_app


@pytest.fixture
def template(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("STRATO_DEV_URL", raising=False)
    app = load_app("tests/apps/graphql_app.py", fresh=True)
    try:
        yield synth(app)
    finally:
        app.close()


def of_type(template: dict, kind: str) -> dict:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == kind}


def test_routes_websocket_and_index(template):
    routes = of_type(template, "AWS::ApiGatewayV2::Route")
    http = {p["RouteKey"]: p for p in routes.values() if p["ApiId"] == {"Ref": "HttpApi"}}
    assert set(http) == {"GET /graphql", "POST /graphql"}  # no GraphiQL route: it exists under strato dev only
    assert all(p["AuthorizationType"] == "JWT" for p in http.values())
    ws = {p["RouteKey"] for p in routes.values() if p["ApiId"] == {"Ref": "GraphqlWebSocketApi"}}
    assert ws == {"$connect", "$disconnect", "$default", "connection_init", "subscribe", "complete", "ping", "pong"}
    api = of_type(template, "AWS::ApiGatewayV2::Api")["GraphqlWebSocketApi"]
    assert api["RouteSelectionExpression"] == "$request.body.type"
    registry = of_type(template, "AWS::DynamoDB::Table")["GraphqlConnectionsTable"]
    assert [i["IndexName"] for i in registry["GlobalSecondaryIndexes"]] == ["by_topic"]
    assert "GraphqlGraphQLUrl" in template["Outputs"]


def test_posting_is_granted_on_this_api_only(template):
    statements = [
        s for p in of_type(template, "AWS::IAM::ManagedPolicy").values() for s in p["PolicyDocument"]["Statement"]
    ]
    manage = [s for s in statements if "execute-api:ManageConnections" in s["Action"]]
    assert len(manage) == 1
    assert "${GraphqlWebSocketApi}/dev/*/@connections/*" in json.dumps(manage[0]["Resource"])


def test_the_template_passes_cfn_lint(template, tmp_path):
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    result = subprocess.run(["cfn-lint", str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_ships_strawberry(tmp_path, monkeypatch):
    from strato.deploy.package import runtime_requirements

    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path / "data"))
    app = load_app("tests/apps/graphql_app.py", fresh=True)
    try:
        assert any(r.startswith("strawberry-graphql") for r in runtime_requirements(app))
    finally:
        app.close()
