"""strato diff / deploy's review against moto_server's CloudFormation change sets: resources added /
modified / removed, IAM statement changes, the change set deleted (never executed), and a deploy that
removes a stateful resource refused without a terminal or --yes.

CloudFormation's words for a change: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html
(Action Add | Modify | Remove; Replacement True | False | Conditional). moto reports Action but no
Replacement, so the replacement case is a strict xfail against it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest
from rich.console import Console

from strato.cli_diff import show
from strato.deploy.changeset import Diff, ResourceChange, iam_statements
from tests import test_deploy
from tests.test_deploy import cli as deploy_cli

ROOT = Path(__file__).resolve().parent.parent
aws_env = test_deploy.aws_env  # the fixture: moto_server's endpoint and fake credentials

V1 = """
import strato
app = strato.App("difftest")
orders = app.table("orders", key="id", allow="read")
jobs = app.queue("jobs")
api = app.http()
api.get("/o/{id}")(lambda req, id: orders.get(id) or {})
"""
V2 = """
import strato
app = strato.App("difftest")
orders = app.table("orders", key="id", allow=["read", "write"])
files = app.bucket("files")
api = app.http()
api.get("/o/{id}")(lambda req, id: orders.get(id) or {})
"""
V3 = V2.replace('key="id"', 'key="order_id"')  # a new key schema: CloudFormation replaces the table


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return deploy_cli(*args, env={**env, "COLUMNS": "200"})


@pytest.fixture
def deployed(tmp_path, aws_env, moto_server):
    app = tmp_path / "difftest.py"
    app.write_text(V1)
    first = cli("deploy", str(app), "--stack", "diff-test", env=aws_env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "new stack diff-test" in first.stderr and "+ AWS::DynamoDB::Table OrdersTable" in first.stderr
    cfn = boto3.client("cloudformation", endpoint_url=moto_server, region_name="us-east-1")
    yield app, cfn
    cli("destroy", "--stack", "diff-test", "--yes", env=aws_env)


def resources(cfn) -> set[str]:
    described = cfn.describe_stack_resources(StackName="diff-test")["StackResources"]
    return {r["LogicalResourceId"] for r in described if "LogicalResourceId" in r}  # moto: some rows lack it


def test_diff_lists_changes_and_deploy_asks_before_removing_data(deployed, aws_env):
    app, cfn = deployed
    app.write_text(V2)
    before = {c["ChangeSetId"] for c in cfn.list_change_sets(StackName="diff-test")["Summaries"]}
    diff = cli("diff", str(app), "--stack", "diff-test", env=aws_env)
    assert diff.returncode == 0, diff.stderr[-3000:]
    out = diff.stdout
    assert "stack diff-test" in out and "to remove" in out
    assert "- AWS::SQS::Queue JobsQueue" in out and "holds data" in out
    assert "+ AWS::S3::Bucket FilesBucket" in out
    assert "IAM statement changes" in out and "dynamodb:PutItem" in out  # the new write grant
    # described, then deleted: nothing executed, no change set left behind
    after = {c["ChangeSetId"] for c in cfn.list_change_sets(StackName="diff-test")["Summaries"]}
    assert after == before and "JobsQueue" in resources(cfn) and "FilesBucket" not in resources(cfn)

    refused = cli("deploy", str(app), "--stack", "diff-test", env=aws_env)
    assert refused.returncode != 0 and "refusing" in refused.stderr and "JobsQueue (removed)" in refused.stderr
    assert "cancelled" in refused.stderr and "JobsQueue" in resources(cfn)  # nothing changed

    forced = cli("deploy", str(app), "--stack", "diff-test", "--yes", env=aws_env)
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert "JobsQueue" not in resources(cfn) and "FilesBucket" in resources(cfn)


def test_diff_of_a_stack_not_deployed_leaves_nothing(aws_env, moto_server, tmp_path):
    app = tmp_path / "difftest.py"
    app.write_text(V1)
    diff = cli("diff", str(app), "--stack", "diff-new", env=aws_env)
    assert diff.returncode == 0, diff.stderr[-3000:]
    assert "new stack diff-new" in diff.stdout and "+ AWS::SQS::Queue JobsQueue" in diff.stdout
    cfn = boto3.client("cloudformation", endpoint_url=moto_server, region_name="us-east-1")
    live = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "diff-new"]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in live)  # the review stack is gone too


@pytest.mark.xfail(strict=True, reason="moto_server gap: change sets carry no Replacement / Details")
def test_a_new_key_schema_is_flagged_as_a_replacement(deployed, aws_env):
    app, _ = deployed
    app.write_text(V3)
    diff = cli("diff", str(app), "--stack", "diff-test", env=aws_env)
    assert diff.returncode == 0, diff.stderr[-3000:]
    assert "~ AWS::DynamoDB::Table OrdersTable (replaced)" in diff.stdout and "KeySchema" in diff.stdout


def test_show_marks_replacements_red_and_lists_iam():
    diff = Diff(
        "s",
        False,
        [
            ResourceChange("Modify", "OrdersTable", "AWS::DynamoDB::Table", "True", [("KeySchema", "Always")]),
            ResourceChange("Modify", "HttpFunction", "AWS::Lambda::Function", "False", [("Code", "Never")]),
            ResourceChange("Remove", "OldBucket", "AWS::S3::Bucket", retained=True),
        ],
        ["HttpFunctionRole: Allow s3:GetObject on arn:x"],
        ["HttpFunctionRole: Allow s3:PutObject on arn:x"],
    )
    console = Console(record=True, width=200, force_terminal=True)
    show(diff, console)
    text = console.export_text(clear=False)
    assert "0 to add, 2 to modify, 1 to remove" in text
    assert "OrdersTable (replaced) holds data" in text and "KeySchema requires replacement" in text
    assert "HttpFunction" in text and "HttpFunction (replaced)" not in text
    assert "OldBucket (retained: DeletionPolicy Retain) holds data" in text
    assert "+ HttpFunctionRole: Allow s3:GetObject" in text and "- HttpFunctionRole: Allow s3:PutObject" in text
    styled = console.export_html(inline_styles=True)
    assert "color: #800000" in styled or "color: #ff0000" in styled  # red
    assert [c.logical_id for c in diff.dangerous] == ["OrdersTable", "OldBucket"]


def test_iam_statements_name_what_changes():
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]},
                    "ManagedPolicyArns": [{"Ref": "AppPolicy"}],
                    "Policies": [
                        {
                            "PolicyDocument": {
                                "Statement": [
                                    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}
                                ]
                            }
                        }
                    ],
                },
            },
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        }
    }
    assert iam_statements(template) == {
        "Role: Allow sts:AssumeRole",
        "Role: managed policy ${AppPolicy}",
        "Role: Allow s3:GetObject,s3:PutObject on *",
    }
