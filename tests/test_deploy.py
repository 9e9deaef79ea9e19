"""strato package / deploy / destroy: a reproducible zip that runs as Lambda runs it, and a stack on moto.

moto_server's CloudFormation creates DynamoDB tables, SQS queues, SNS topics, S3 buckets, IAM roles and
policies and Lambda functions, and skips types it does not implement (API Gateway v2, Scheduler, SNS
subscriptions, queue policies) with a warning; it also returns no stack outputs for such templates.
The assertions below look at what it does create.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "strato.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,  # not a terminal: nobody to answer a question
        env={**os.environ, **(env or {})},
    )


def test_package_is_reproducible_without_tests_and_runs_like_lambda(tmp_path):
    app_dir = tmp_path / "svc"
    app_dir.mkdir()
    (app_dir / "service.py").write_text(
        "import strato\napp = strato.App('svc')\napi = app.http()\n"
        "@api.get('/hello/{name}')\ndef hello(req, name):\n    return {'hi': name}\n"
    )
    (app_dir / "test_service.py").write_text("def test(): pass\n")
    (app_dir / "tests").mkdir()
    (app_dir / "tests" / "x.py").write_text("")
    (app_dir / "__pycache__").mkdir()
    (app_dir / "__pycache__" / "service.cpython-311.pyc").write_bytes(b"junk")
    first = cli("package", str(app_dir / "service.py"), "-o", str(tmp_path / "a.zip"))
    second = cli("package", str(app_dir / "service.py"), "-o", str(tmp_path / "b.zip"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert hashlib.sha256((tmp_path / "a.zip").read_bytes()).hexdigest() in first.stdout
    names = zipfile.ZipFile(tmp_path / "a.zip").namelist()
    assert "service.py" in names and "strato_entry.py" in names and "strato/app.py" in names
    assert not [n for n in names if "test" in n.split("/")[-1] or n.endswith(".pyc") or n.startswith("tests/")]
    event = {
        "version": "2.0",
        "routeKey": "GET /hello/{name}",
        "rawPath": "/hello/ana",
        "rawQueryString": "",
        "headers": {},
        "pathParameters": {"name": "ana"},
        "isBase64Encoded": False,
        "requestContext": {
            "http": {"method": "GET", "path": "/hello/ana", "sourceIp": "1.2.3.4"},
            "routeKey": "GET /hello/{name}",
            "stage": "$default",
            "requestId": "r",
        },
    }
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import strato_entry; "
        "print(json.dumps(strato_entry.handler(json.loads(sys.argv[2]), None)))"
    )
    run = subprocess.run(
        [sys.executable, "-S", "-c", code, str(tmp_path / "a.zip"), json.dumps(event)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "AWS_LAMBDA_FUNCTION_NAME": "svc-dev-http"},
    )
    assert run.returncode == 0, run.stderr
    response = json.loads(run.stdout)
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"hi": "ana"}


@pytest.fixture
def aws_env(moto_server):
    return {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_deploy_update_and_destroy_on_moto(aws_env, moto_server):
    deployed = cli("deploy", "examples/jobs/app.py", "--stack", "jobs-test", env=aws_env)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "CREATE_COMPLETE" in deployed.stderr and "outputs" in deployed.stdout
    kwargs = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    cfn = boto3.client("cloudformation", **kwargs)
    assert cfn.describe_stacks(StackName="jobs-test")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName="jobs-test")["StackResources"]
        if "LogicalResourceId" in r and "PhysicalResourceId" in r
    }
    tables = boto3.client("dynamodb", **kwargs).list_tables()["TableNames"]
    assert resources["CodegenTable"] in tables and resources["DeploymentsTable"] in tables
    functions = {f["FunctionName"]: f for f in boto3.client("lambda", **kwargs).list_functions()["Functions"]}
    http = functions["jobs-dev-http"]
    assert http["Handler"] == "strato_entry.handler" and http["Runtime"] == "python3.12"
    variables = http["Environment"]["Variables"]
    assert variables["STRATO_TABLE_CODEGEN"] == resources["CodegenTable"]
    assert "jobs-dev-queue-codegen-jobs" in functions
    sqs = boto3.client("sqs", **kwargs)
    url = sqs.get_queue_url(QueueName=variables["STRATO_QUEUE_CODEGEN_JOBS"])["QueueUrl"]
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    assert redrive["maxReceiveCount"] == 3
    policy_arn = resources["AppPolicy"]
    iam = boto3.client("iam", **kwargs)
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    assert all(s["Resource"] != "*" for s in document["Statement"])
    again = cli("deploy", "examples/jobs/app.py", "--stack", "jobs-test", env=aws_env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "already uploaded" in again.stderr  # same package hash: nothing re-uploaded
    destroyed = cli("destroy", "--stack", "jobs-test", "--yes", env=aws_env)
    assert destroyed.returncode == 0, destroyed.stderr
    assert not [
        s
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackName"] == "jobs-test" and s["StackStatus"] != "DELETE_COMPLETE"
    ]


def test_deploy_refuses_missing_parameters(aws_env):
    result = cli("deploy", "tests/apps/everything_app.py", "--stack", "needs-params", env=aws_env)
    assert result.returncode != 0 and "MainSqlSecretArn" in result.stderr and "--param" in result.stderr


def test_package_adds_what_the_resources_import_and_leaves_out_local_clutter(tmp_path):
    """A user pool needs PyJWT (+ cryptography) and pyotp in Lambda, Redis-backed kv redis-py, sql psycopg;
    local data folders, logs, pid files, templates and what .stratoignore names stay out of the zip."""
    from strato.deploy.package import _files, runtime_requirements
    from strato.loader import load_app

    app_dir = tmp_path / "svc"
    app_dir.mkdir()
    (app_dir / "service.py").write_text(
        "import strato\napp = strato.App('svc')\nusers = app.user_pool('users')\n"
        "sessions = app.kv('sessions', provider='redis')\nflags = app.kv('flags')\ndb = app.sql('main')\n"
    )
    assert runtime_requirements(load_app(str(app_dir / "service.py"))) == [
        "psycopg[binary]>=3.1",
        "psycopg_pool>=3.2",
        "pyjwt[crypto]>=2.8",
        "pyotp>=2.9",
        "redis>=5",
    ]
    for name in ("data/.strato-data", "data/tables.db", "server.log", "dev.pid", "template.json", "notes/x.md"):
        (app_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (app_dir / name).write_text("x")
    (app_dir / ".stratoignore").write_text("# private notes\nnotes/\n")
    assert [name for name, _ in _files(app_dir)] == ["service.py"]


def test_deploy_tags_the_stack_and_sets_the_function_settings_on_moto(aws_env, moto_server):
    app = "tests/apps/production_tags_app.py"
    deployed = cli("deploy", app, "--stack", "prod-settings", "--stage", "prod", env=aws_env)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "architecture arm64: no dependencies beyond strato" in deployed.stderr
    kwargs = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    stack = boto3.client("cloudformation", **kwargs).describe_stacks(StackName="prod-settings")["Stacks"][0]
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {
        "strato:app": "prodtags",
        "Application": "analytics",
        "CostCenter": "cc-42",
        "Environment": "prod",
    }
    lam = boto3.client("lambda", **kwargs)
    work = lam.get_function(FunctionName="prodtags-prod-queue-jobs")
    config = work["Configuration"]
    # (moto's CloudFormation leaves Architectures at x86_64: the template's arm64 is checked in test_production_synth)
    assert (config["MemorySize"], config["Timeout"]) == (2048, 240)
    assert config["Environment"]["Variables"]["MODEL"] == "small"
    sqs = boto3.client("sqs", **kwargs)
    url = sqs.get_queue_url(QueueName=config["Environment"]["Variables"]["STRATO_QUEUE_JOBS"])["QueueUrl"]
    tags = sqs.list_queue_tags(QueueUrl=url)["Tags"]  # the resource's own Tags (moto skips a function's)
    assert tags["CostCenter"] == "cc-42" and tags["Environment"] == "prod"
    logs = boto3.client("logs", **kwargs).describe_log_groups(logGroupNamePrefix="/aws/lambda/prodtags-prod-queue-jobs")
    assert logs["logGroups"][0]["retentionInDays"] == 90
    # (moto's CloudFormation has no AWS::CloudWatch::Alarm: the alarms are checked in test_production_synth)
    destroyed = cli("destroy", "--stack", "prod-settings", "--yes", env=aws_env)
    assert destroyed.returncode == 0, destroyed.stderr
