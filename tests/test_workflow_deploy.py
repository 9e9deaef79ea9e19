"""strato synth for a workflow: the state machine (its definition as declared, Standard or Express), its log
group and a role that may only log and trace, its ARN in the functions' environment, the functions' grants
on it; cfn-lint clean. Task handlers, integrations and the task functions' Lambda entry:
tests/test_workflow_task_deploy.py."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

APP = """
import strato

app = strato.App("flows")
report = app.workflow("report", type="EXPRESS", allow=("start", "read"), definition={
    "StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "Result": "hi", "End": True}}})
api = app.http()


@api.post("/reports")
def start(req):
    return 202, {"arn": report.start({})}
"""


def synth(tmp_path, source: str) -> subprocess.CompletedProcess:
    (tmp_path / "app.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "strato.cli", "synth", str(tmp_path / "app.py"), "-o", str(tmp_path / "t.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_state_machine_its_role_and_the_grants(tmp_path):
    done = synth(tmp_path, APP)
    assert done.returncode == 0, done.stderr
    template = json.loads((tmp_path / "t.json").read_text())
    resources = template["Resources"]
    machine = next(r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineType"] == "EXPRESS"
    assert props["Definition"]["States"]["Hello"] == {"Type": "Pass", "Result": "hi", "End": True}
    assert props["TracingConfiguration"] == {"Enabled": True} and props["LoggingConfiguration"]["Level"] == "ALL"
    role = resources[props["RoleArn"]["Fn::GetAtt"][0]]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "states.amazonaws.com"
    }
    actions = {a for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert not any(a.startswith(("lambda:", "states:", "sqs:", "dynamodb:")) for a in actions)
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert all("STRATO_WORKFLOW_REPORT_ARN" in f["Properties"]["Environment"]["Variables"] for f in functions)
    granted = resources["AppPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in granted}
    assert by_sid["ReportWorkflowStart"]["Action"] == ["states:StartExecution", "states:StartSyncExecution"]
    # by name, not Ref: the task functions get these grants and the machine depends on them (no cycle)
    assert by_sid["ReportWorkflowStart"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:flows-dev-report"}
    ]
    assert props["StateMachineName"] == "flows-dev-report" and props_id(resources) == "ReportStateMachine"
    assert "states:DescribeExecution" in by_sid["ReportWorkflowRead"]["Action"]
    assert "states:StopExecution" not in json.dumps(granted)
    lint = subprocess.run(["cfn-lint", str(tmp_path / "t.json")], capture_output=True, text=True, timeout=300)
    errors = [line for line in lint.stdout.splitlines() if line[:1] == "E"]
    assert lint.returncode in (0, 4, 8) and not errors, lint.stdout


def props_id(resources: dict) -> str:
    return next(k for k, r in resources.items() if r["Type"] == "AWS::StepFunctions::StateMachine")
