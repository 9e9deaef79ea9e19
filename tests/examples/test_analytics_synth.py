"""examples/analytics's template (issue 23's deploy section): cfn-lint clean, CloudWatch publishing scoped by
``cloudwatch:namespace``, the seed's tags, backups every 6 hours with PITR, a pool only admins add users to,
and the hourly-report state machine in the seed's shape started by a rate(1 hour) schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.cfn import assert_lint_clean
from tests.conftest import ROOT

TAGS = {
    "Application": "central-analytics",
    "Environment": "production",
    "CostCenter": "analytics",
    "Owner": "platform-team",
    "AutoShutdown": "false",
}


def test_the_template(tmp_path):
    out = tmp_path / "template.json"
    done = subprocess.run(
        [sys.executable, "-m", "strato.cli", "synth", "examples/analytics/app.py", "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STRATO_DATA_DIR": str(tmp_path / "data")},
    )
    assert done.returncode == 0, done.stderr
    template = json.loads(out.read_text())
    assert_lint_clean(template, tmp_path)
    resources = template["Resources"]

    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    cloudwatch = [s for s in statements if any(a.startswith("cloudwatch:") for a in s["Action"])]
    [put] = [s for s in cloudwatch if "cloudwatch:PutMetricData" in s["Action"]]
    # "Use IAM condition keys to limit users to publishing metrics only in the CloudWatch namespaces that you
    # specify" (CloudWatch user guide, iam-cw-condition-keys-namespace): the key exists for PutMetricData
    assert put["Action"] == ["cloudwatch:PutMetricData"]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CentralAnalytics"}}
    assert {a for s in cloudwatch for a in s["Action"]} == {
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
    }  # no alarm or dashboard actions: the app evaluates its run-time alarms itself

    granted = {a for s in statements for a in s["Action"]}
    assert not {a for a in granted if a.startswith("cognito-idp:")}  # no admin calls from the functions
    assert {a for a in granted if a.startswith("states:")} == {
        "states:StartExecution",
        "states:StartSyncExecution",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "states:ListExecutions",
    }
    assert "s3:DeleteObject" not in granted and "s3:ListBucket" in granted  # a missing report: 404, not 403

    tables = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert {"ApplicationsTable", "DatapointsTable", "AlarmsTable", "AlarmHistoryTable"} <= set(tables)
    for props in tables.values():
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert {t["Key"]: t["Value"] for t in props["Tags"]} == TAGS
    assert tables["DatapointsTable"]["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert tables["DatapointsTable"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    [plan] = [r["Properties"]["BackupPlan"] for r in resources.values() if r["Type"] == "AWS::Backup::BackupPlan"]
    assert [rule["ScheduleExpression"] for rule in plan["BackupPlanRule"]] == ["cron(0 */6 * * ? *)"]

    pool = resources["AnalystsUserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert pool["MfaConfiguration"] == "OPTIONAL" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert pool["UserPoolTags"] == TAGS

    machine = resources["HourlyReportStateMachine"]["Properties"]
    definition = json.loads(machine["DefinitionString"]) if "DefinitionString" in machine else machine["Definition"]
    assert definition["StartAt"] == "FetchData" and definition["States"]["FetchData"]["Next"] == "ProcessData"
    branches = definition["States"]["ProcessData"]["Branches"]
    assert [b["StartAt"] for b in branches] == ["AggregateMetrics", "GenerateReports"]
    assert definition["States"]["ProcessData"]["Next"] == "StoreResults"
    [schedule] = [r["Properties"] for k, r in resources.items() if k == "HourlyReportSchedule"]
    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    assert schedule["Target"]["Arn"] == {"Ref": "HourlyReportStateMachine"}
