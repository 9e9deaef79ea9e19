"""examples/relay's template: cfn-lint clean, with the outputs its clients read (app.output aliases)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import strato
from strato import ConfigurationError
from tests.conftest import ROOT

OUTPUTS = {"WebSocketUrl", "WebUrl", "UserPoolId", "UserPoolClientId", "WebBucketName"}


@pytest.mark.parametrize("auth", ["0", "1"])
def test_the_template_lints_and_has_the_outputs(tmp_path, auth):
    out = tmp_path / "template.json"
    done = subprocess.run(
        [sys.executable, "-m", "strato.cli", "synth", "examples/relay/app.py", "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STRATO_DATA_DIR": str(tmp_path / "data"), "RELAY_AUTH": auth},
    )
    assert done.returncode == 0, done.stderr
    template = json.loads(out.read_text())
    outputs = template["Outputs"]
    assert set(outputs) >= OUTPUTS
    assert outputs["WebSocketUrl"]["Value"] == outputs["RelayWebSocketApiUrl"]["Value"]
    assert outputs["UserPoolId"]["Value"] == {"Ref": "UsersUserPool"}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": "UsersUserPoolClient"}
    tables = {
        r["Properties"].get("TableName", k): r["Properties"]
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    ttl = [p.get("TimeToLiveSpecification", {}).get("AttributeName") for p in tables.values()]
    assert ttl.count("expiresAt") == 4  # connections, sessions, messages, attempts (join throttle)
    gsis = {g["IndexName"] for p in tables.values() for g in p.get("GlobalSecondaryIndexes", [])}
    assert {"by_session", "by_user", "by_code"} <= gsis, gsis
    if auth == "1":
        assert any(r["Type"] == "AWS::ApiGatewayV2::Authorizer" for r in template["Resources"].values())
    lint = subprocess.run(["cfn-lint", str(out)], capture_output=True, text=True, timeout=300)
    errors = [line for line in lint.stdout.splitlines() if line[:1] == "E"]
    assert lint.returncode in (0, 4, 8) and not errors, lint.stdout  # 4/8: warnings / informational only


def test_app_output_refuses_unknown_sources_and_bad_names(tmp_path):
    from strato.deploy.synth import synth

    app = strato.App("aliases", data_dir=tmp_path)
    app.table("items", key="id")
    with pytest.raises(ConfigurationError, match="letters and digits"):
        app.output("web-url", "ItemsTable")
    app.output("Items", "ItemsTable")
    assert synth(app)["Outputs"]["Items"]["Value"] == {"Ref": "ItemsTable"}
    app.output("Missing", "NoSuchOutput")
    with pytest.raises(ConfigurationError, match="no output 'NoSuchOutput'"):
        synth(app)
