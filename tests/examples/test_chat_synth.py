"""examples/chat's template: cfn-lint clean, and the IAM the seed lists (Chime SDK meeting actions,
execute-api:ManageConnections) granted only on the resources the app uses."""

from __future__ import annotations

from tests.cfn import assert_lint_clean
from tests.conftest import ROOT

# the seed's Chime statement ("Resource": "*"); here scoped to this account's meetings
SEED_CHIME = {
    "chime:CreateMeeting",
    "chime:GetMeeting",
    "chime:DeleteMeeting",
    "chime:CreateAttendee",
    "chime:DeleteAttendee",
    "chime:BatchCreateAttendee",
    "chime:ListAttendees",
}


def synthesised(tmp_path, monkeypatch) -> dict:
    from strato.deploy.synth import synth
    from strato.loader import load_app

    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(ROOT)
    return synth(load_app("examples/chat/app.py", fresh=True))


def statements(template: dict) -> list[dict]:
    return [
        s
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ] + [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
        for p in r["Properties"].get("Policies", [])
        for s in p["PolicyDocument"]["Statement"]
    ]


def test_the_template_lints_and_grants_chime_and_execute_api_scoped(tmp_path, monkeypatch):
    template = synthesised(tmp_path, monkeypatch)
    assert_lint_clean(template, tmp_path, "linted.json")
    granted = statements(template)

    chime = [s for s in granted if any(a.startswith("chime:") for a in s["Action"])]
    assert len(chime) == 1 and set(chime[0]["Action"]) >= SEED_CHIME
    # "arn:aws:chime:region:account:meeting/*": the meeting resource type of the Chime SDK's IAM reference
    [meeting_arn] = chime[0]["Resource"]
    assert meeting_arn["Fn::Sub"].endswith(":chime:${AWS::Region}:${AWS::AccountId}:meeting/*")

    manage = [s for s in granted if "execute-api:ManageConnections" in s["Action"]]
    assert len(manage) == 1 and manage[0]["Action"] == ["execute-api:ManageConnections"]
    # the @connections API's ARN is api-id/stage/POST/@connections (API Gateway developer guide,
    # "Control access to WebSocket APIs with IAM authorization"): this API's only
    [connections_arn] = manage[0]["Resource"]
    assert "${ChatWebSocketApi}/" in connections_arn["Fn::Sub"] and connections_arn["Fn::Sub"].endswith(
        "/@connections/*"
    )

    wildcard = {a for s in granted if "*" in s["Resource"] for a in s["Action"]}
    assert {a.split(":")[0] for a in wildcard} <= {"xray"}, wildcard  # X-Ray has no resource-level permissions
    assert not [a for s in granted for a in s["Action"] if a.startswith("cognito-idp:Admin")]  # allow=()

    resources = template["Resources"]
    kinds = [r["Type"] for r in resources.values()]
    assert "AWS::ApiGatewayV2::Authorizer" in kinds and "AWS::Cognito::UserPool" in kinds
    assert any(
        r["Type"] == "AWS::ApiGatewayV2::Authorizer" and r["Properties"]["AuthorizerType"] == "JWT"
        for r in resources.values()
    )
    tables = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert tables["ListenersTable"]["TimeToLiveSpecification"]["AttributeName"] == "expiresAt"  # 24 h rows
    gsis = {g["IndexName"] for p in tables.values() for g in p.get("GlobalSecondaryIndexes", [])}
    assert {"by_user", "by_email"} <= gsis
    assert {"WebSocketUrl", "UserPoolId", "UserPoolClientId", "WebUrl", "HttpApiUrl"} <= set(template["Outputs"])
