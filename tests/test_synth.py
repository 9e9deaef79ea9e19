"""strato synth: a valid (cfn-lint), deterministic, least-privilege template for every primitive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import strato
from strato.deploy.synth import synth

ROOT = Path(__file__).resolve().parent.parent
APPS = ["tests/apps/everything_app.py", "examples/jobs/app.py", "examples/notes/app.py", "tests/apps/ws_app.py"]


def synth_file(app: str, out: Path, stage: str | None = None) -> dict:
    args = [sys.executable, "-m", "strato.cli", "synth", app, "-o", str(out)] + (["--stage", stage] if stage else [])
    result = subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STRATO_DATA_DIR": str(out.parent / "data")},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("app", APPS)
def test_templates_pass_cfn_lint(app, tmp_path):
    synth_file(app, tmp_path / "template.json")
    lint = subprocess.run(["cfn-lint", str(tmp_path / "template.json")], capture_output=True, text=True, timeout=300)
    errors = [line for line in lint.stdout.splitlines() if line[:1] == "E"]
    assert lint.returncode in (0, 4, 8) and not errors, lint.stdout  # 4/8: warnings / informational only


def test_synth_is_deterministic(tmp_path):
    first = synth_file(APPS[0], tmp_path / "a.json")
    second = synth_file(APPS[0], tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes() and first == second


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return synth_file(APPS[0], tmp_path_factory.mktemp("synth") / "t.json")


def resources(template: dict, kind: str) -> dict:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def statements(template: dict) -> list[dict]:
    policy = template["Resources"]["AppPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    inline = [
        s
        for role in resources(template, "AWS::IAM::Role").values()
        for p in role["Properties"].get("Policies", [])
        for s in p["PolicyDocument"]["Statement"]
    ]
    return policy + inline


def test_read_only_table_gets_read_actions_on_the_table_and_its_indexes_only(template):
    grants = [s for s in statements(template) if "ReportsTable" in json.dumps(s["Resource"])]
    assert [s["Sid"] for s in grants] == ["ReportsTableRead"]
    assert grants[0]["Action"] == [
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
    ]
    assert grants[0]["Resource"] == [
        {"Fn::GetAtt": ["ReportsTable", "Arn"]},
        {"Fn::Sub": "${ReportsTable.Arn}/index/*"},
    ]
    users = next(s for s in statements(template) if s["Sid"] == "UsersTableWrite")
    assert "dynamodb:PutItem" in users["Action"]
    files = {s["Sid"]: s for s in statements(template) if s.get("Sid", "").startswith("FilesBucket")}
    assert set(files) == {"FilesBucketRead", "FilesBucketList"}
    assert files["FilesBucketList"]["Action"] == ["s3:ListBucket"]
    assert files["FilesBucketList"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::everything-dev-files-${AWS::AccountId}-${AWS::Region}"}
    ]
    jobs = {s["Sid"] for s in statements(template) if s.get("Sid", "").startswith("JobsQueue")}
    assert jobs == {"JobsQueueSend"}
    assert {s["Sid"] for s in statements(template) if s.get("Sid", "").startswith("EventsTopic")} == {
        "EventsTopicPublish"
    }


def test_no_statement_grants_a_wildcard_resource_or_action(template):
    for statement in statements(template):
        if statement.get("Sid") == "XRayTraces":  # X-Ray's write actions take no narrower resource (test_trace_synth)
            assert all(a.startswith("xray:") for a in statement["Action"]), statement
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in a for a in actions), statement
        for resource in statement["Resource"]:
            assert resource != "*", statement


def test_the_consumer_reads_its_own_queue_through_its_trigger_only(template):
    mapping = template["Resources"]["JobsQueueEventSource"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["BatchSize"] == 5
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 4}
    role = template["Resources"]["QueueJobsFunctionRole"]["Properties"]
    consume = next(s for s in role["Policies"][0]["PolicyDocument"]["Statement"] if s["Sid"] == "ConsumeOwnQueue")
    assert consume["Resource"] == [{"Fn::GetAtt": ["JobsQueue", "Arn"]}]
    assert template["Resources"]["QueueJobsFunction"]["Properties"]["Timeout"] == 60


def test_environment_carries_physical_names(template):
    env = template["Resources"]["HttpFunction"]["Properties"]["Environment"]["Variables"]
    assert env["STRATO_TABLE_REPORTS"] == {"Ref": "ReportsTable"}
    assert env["STRATO_QUEUE_JOBS"] == {"Fn::GetAtt": ["JobsQueue", "QueueName"]}
    assert env["STRATO_TOPIC_EVENTS_ARN"] == {"Ref": "EventsTopic"}
    assert env["STRATO_BUCKET_FILES"] == {"Fn::Sub": "everything-dev-files-${AWS::AccountId}-${AWS::Region}"}
    assert env["STRATO_KV_SESSIONS"] == {"Ref": "SessionsTable"}
    assert env["STRATO_WEBSOCKET_LIVE_API_ID"] == {"Ref": "LiveWebSocketApi"}
    assert env["STRATO_SQL_MAIN_SECRET"] == {"Ref": "MainSqlSecretArn"} and env["STRATO_PROVIDER"] == "aws"
    handler_env = template["Resources"]["TopicEventsNotifyFunction"]["Properties"]["Environment"]["Variables"]
    assert handler_env["STRATO_HANDLER"] == "notify"


def test_functions_share_one_generated_cursor_key(template):
    """Table cursors are signed with STRATO_CURSOR_KEY on AWS: one secret per stack, generated by Secrets
    Manager, resolved into every function's environment (so any instance continues any listing)."""
    r = template["Resources"]
    secret = r["TableCursorKey"]
    assert secret["Type"] == "AWS::SecretsManager::Secret" and "GenerateSecretString" in secret["Properties"]
    reference = {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "TableCursorKey"}, ":SecretString}}"]]}
    for fn in resources(template, "AWS::Lambda::Function").values():
        assert fn["Properties"]["Environment"]["Variables"]["STRATO_CURSOR_KEY"] == reference


def test_every_declared_piece_is_in_the_template(template):
    r = template["Resources"]
    assert r["ReportsTable"]["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "exp", "Enabled": True}
    assert r["ReportsTable"]["Properties"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by_user"
    assert r["ReportsTable"]["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    assert r["JobsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3
    assert r["OrdersQueue"]["Properties"]["FifoQueue"] is True
    assert any(
        s["Properties"].get("FilterPolicy") == {"status": ["done"]}
        for s in resources(template, "AWS::SNS::Subscription").values()
    )
    assert r["FilesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][1]["ExpirationInDays"] == 7
    assert r["FilesBucket"]["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    notification = r["UploadsBucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"][0]
    assert notification["Filter"]["S3Key"]["Rules"] == [
        {"Name": "prefix", "Value": "in/"},
        {"Name": "suffix", "Value": ".png"},
    ]
    assert {
        s["Properties"]["ScheduleExpression"] for s in resources(template, "AWS::Scheduler::Schedule").values()
    } == {"rate(6 hours)", "cron(0 9 ? * MON-FRI *)"}
    routes = {v["Properties"]["RouteKey"] for v in resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert {"GET /reports/{id}", "POST /files/{path+}", "ANY /anything", "$connect", "$disconnect", "say"} <= routes
    assert r["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"] == ["https://app.example"]
    invoke = r["TopicEventsNotifyFunctionInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == 2 and "OnFailure" in invoke["DestinationConfig"]
    assert {"HttpApiUrl", "LiveWebSocketApiUrl", "FilesBucket", "JobsQueue"} <= set(template["Outputs"])
    assert all(g["Properties"]["RetentionInDays"] == 30 for g in resources(template, "AWS::Logs::LogGroup").values())


def test_user_pools_authorize_routes_at_the_gateway_and_websockets_on_connect(template):
    r = template["Resources"]
    pool = r["MembersUserPool"]
    assert pool["DeletionPolicy"] == "Retain" and pool["Properties"]["MfaConfiguration"] == "OPTIONAL"
    assert pool["Properties"]["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    client = r["MembersUserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False and "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    authorizer = r["HttpAuthorizerMembers"]["Properties"]
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["JwtConfiguration"]["Audience"] == [{"Ref": "MembersUserPoolClient"}]
    assert "${MembersUserPool}" in authorizer["JwtConfiguration"]["Issuer"]["Fn::Sub"]
    routes = {
        v["Properties"]["RouteKey"]: v["Properties"] for v in resources(template, "AWS::ApiGatewayV2::Route").values()
    }
    for key in ("GET /me", "DELETE /reports/{id}"):
        assert routes[key]["AuthorizationType"] == "JWT"
        assert routes[key]["AuthorizerId"] == {"Ref": "HttpAuthorizerMembers"}
    assert "AuthorizationType" not in routes["GET /reports/{id}"]
    connect = r["StaffWebSocketApiRouteDollarConnect"]["Properties"]
    assert connect["AuthorizationType"] == "CUSTOM"
    assert connect["AuthorizerId"] == {"Ref": "StaffWebSocketApiAuthorizer"}
    assert r["StaffWebSocketApiAuthorizer"]["Properties"]["AuthorizerType"] == "REQUEST"
    assert "AuthorizationType" not in r["LiveWebSocketApiRouteDollarConnect"]["Properties"]
    env = r["HttpFunction"]["Properties"]["Environment"]["Variables"]
    assert env["STRATO_USER_POOL_MEMBERS_ID"] == {"Ref": "MembersUserPool"}
    assert env["STRATO_USER_POOL_MEMBERS_CLIENT_ID"] == {"Ref": "MembersUserPoolClient"}
    admin = next(s for s in statements(template) if s["Sid"] == "MembersUserPoolAdmin")
    assert admin["Resource"] == [{"Fn::GetAtt": ["MembersUserPool", "Arn"]}]
    assert all(a.startswith("cognito-idp:Admin") or a == "cognito-idp:CreateGroup" for a in admin["Action"])


def test_meetings_get_the_chime_actions_on_the_accounts_meetings_only(template):
    manage = next(s for s in statements(template) if s["Sid"] == "RoomsMeetingsManage")
    assert "chime:CreateMeeting" in manage["Action"] and "chime:DeleteAttendee" in manage["Action"]
    assert all(a.startswith("chime:") for a in manage["Action"])
    assert manage["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:chime:${AWS::Region}:${AWS::AccountId}:meeting/*"}]


REDIS_APP = """
import strato
app = strato.App("fastapp")
sessions = app.kv("sessions", provider="redis")
hot = app.cache("hot", provider="redis")
slow = app.cache("slow")
api = app.http()
api.get("/s/{k}")(lambda req, k: {"v": sessions.get(k)})
"""


def test_redis_users_get_elasticache_and_vpc_placed_functions(tmp_path):
    (tmp_path / "fastapp.py").write_text(REDIS_APP)
    template = synth_file(str(tmp_path / "fastapp.py"), tmp_path / "t.json")
    lint = subprocess.run(["cfn-lint", str(tmp_path / "t.json")], capture_output=True, text=True, timeout=300)
    assert not [line for line in lint.stdout.splitlines() if line[:1] == "E"], lint.stdout
    r = template["Resources"]
    assert r["RedisCache"]["Type"] == "AWS::ElastiCache::ServerlessCache"
    assert {"VpcSubnetIds", "VpcSecurityGroupIds"} <= set(template["Parameters"])
    function = r["HttpFunction"]["Properties"]
    assert function["VpcConfig"]["SubnetIds"] == {"Ref": "VpcSubnetIds"}
    assert function["Environment"]["Variables"]["REDIS_TLS"] == "1"
    assert "ELASTICACHE_ENDPOINT" in function["Environment"]["Variables"]
    assert "SessionsTable" not in r and "HotTable" not in r and "SlowTable" in r  # redis ones need no table
    # but a redis cache's persist() / restore() still use its DynamoDB snapshot table
    assert r["HotSnapshotTable"]["Type"] == "AWS::DynamoDB::Table"
    assert "STRATO_TABLE_HOT_SNAPSHOT" in function["Environment"]["Variables"]
    eni = [
        s
        for s in r["HttpFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        if s["Sid"] == "VpcNetworkInterfaces"
    ]
    assert eni and all(a.startswith("ec2:") for a in eni[0]["Action"])  # the one wildcard AWS requires


def test_synth_refuses_clashing_names(make_app):
    app = make_app()
    app.table("sessions", key="id")
    app.kv("sessions")
    with pytest.raises(strato.ConfigurationError, match="SessionsTable"):
        synth(app)
