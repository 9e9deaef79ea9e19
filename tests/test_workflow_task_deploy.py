"""Deploying a workflow whose Tasks run Python task handlers or optimized integrations: each handler a Lambda
function of the app's package, the Task's Resource a ``${...}`` placeholder mapped by DefinitionSubstitutions,
the role exactly lambda:InvokeFunction on those functions plus each integration's actions on the declared
resource it names; cfn-lint clean. And the task function's Lambda entry: the task input in, its output out,
an exception surfacing with errorType = its class name, as Retry / Catch match it locally."""

from __future__ import annotations

import pytest

import strato
from strato.core.errors import ConfigurationError
from strato.deploy.synth import synth
from strato.events import LocalContext
from strato.workflow.errors import StatesError, matches, of_exception
from strato.workflow.iam import Plan
from tests.cfn import assert_lint_clean

LAMBDA = "arn:aws:states:::"


def declare(tmp_path) -> tuple[strato.App, object]:
    app = strato.App("flows", data_dir=str(tmp_path / "data"))
    app.queue("jobs")
    app.topic("events")
    app.table("orders", key="id")
    app.table("audit", key="id")
    report = app.workflow(
        "report",
        definition={
            "StartAt": "Fetch",
            "States": {
                "Fetch": {
                    "Type": "Task",
                    "Resource": "FetchData",
                    "TimeoutSeconds": 120,
                    "Retry": [{"ErrorEquals": ["ValueError"], "MaxAttempts": 2}],
                    "Next": "Both",
                },
                "Both": {
                    "Type": "Parallel",
                    "Next": "Send",
                    "Branches": [
                        {"StartAt": "Agg", "States": {"Agg": {"Type": "Task", "Resource": "Aggregate", "End": True}}},
                        {"StartAt": "Gen", "States": {"Gen": {"Type": "Task", "Resource": "Shared", "End": True}}},
                    ],
                },
                "Send": {
                    "Type": "Task",
                    "Resource": f"{LAMBDA}sqs:sendMessage",
                    "Parameters": {"QueueUrl": "jobs", "MessageBody.$": "$"},
                    "ResultPath": None,
                    "Next": "Pub",
                },
                "Pub": {
                    "Type": "Task",
                    "Resource": f"{LAMBDA}sns:publish",
                    "Parameters": {"TopicArn": "events", "Message": "done"},
                    "ResultPath": None,
                    "Next": "Put",
                },
                "Put": {
                    "Type": "Task",
                    "Resource": f"{LAMBDA}dynamodb:putItem",
                    "Parameters": {"TableName": "orders", "Item": {"id": {"S": "x"}}},
                    "ResultPath": None,
                    "End": True,
                },
            },
        },
    )
    report.task("FetchData")(lambda event: {"rows": event.get("n", 0)})
    report.task("Aggregate")(lambda event: 3)
    app.task("Shared")(lambda event: "ok")
    return app, report


@pytest.fixture
def template(tmp_path):
    app, _ = declare(tmp_path)
    built = synth(app)
    app.close()
    return built


def functions(template: dict) -> dict[str, dict]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


def role_statements(template: dict, machine: str = "Report") -> list[dict]:
    role = template["Resources"][f"{machine}StateMachineRole"]["Properties"]
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_each_task_handler_is_a_function_and_its_resource_a_substitution(template):
    machine = template["Resources"]["ReportStateMachine"]["Properties"]
    states = machine["Definition"]["States"]
    assert states["Fetch"]["Resource"] == "${FetchData}"
    assert states["Both"]["Branches"][0]["States"]["Agg"]["Resource"] == "${Aggregate}"
    assert states["Both"]["Branches"][1]["States"]["Gen"]["Resource"] == "${Shared}"
    subs = machine["DefinitionSubstitutions"]
    assert subs["FetchData"] == {"Fn::GetAtt": ["TaskReportFetchDataFunction", "Arn"]}
    assert subs["Aggregate"] == {"Fn::GetAtt": ["TaskReportAggregateFunction", "Arn"]}
    assert subs["Shared"] == {"Fn::GetAtt": ["TaskSharedFunction", "Arn"]}  # an @app.task: one function
    fns = functions(template)
    fetch = fns["TaskReportFetchDataFunction"]
    assert fetch["Handler"] == "strato_entry.handler" and fetch["Code"]["S3Key"] == {"Ref": "CodeKey"}
    assert fetch["Environment"]["Variables"]["STRATO_WORKFLOW_TASK"] == "report/FetchData"
    assert fetch["Timeout"] == 120  # the Task's TimeoutSeconds
    assert fns["TaskReportAggregateFunction"]["Timeout"] == 60
    # the declared definition is unchanged: the local executor keeps running the task names
    assert machine["Definition"]["States"]["Fetch"]["Retry"] == [{"ErrorEquals": ["ValueError"], "MaxAttempts": 2}]


def test_integration_targets_become_substitutions_of_the_deployed_resources(template):
    machine = template["Resources"]["ReportStateMachine"]["Properties"]
    states, subs = machine["Definition"]["States"], machine["DefinitionSubstitutions"]
    assert states["Send"]["Parameters"] == {"QueueUrl": "${queue_jobs}", "MessageBody.$": "$"}
    assert subs["queue_jobs"] == {"Ref": "JobsQueue"}  # an SQS queue's Ref is its URL
    assert states["Pub"]["Parameters"]["TopicArn"] == "${topic_events}" and subs["topic_events"] == {
        "Ref": "EventsTopic"
    }
    assert states["Put"]["Parameters"]["TableName"] == "${table_orders}" and subs["table_orders"] == {
        "Ref": "OrdersTable"
    }


def test_the_role_has_exactly_invoke_on_the_functions_and_the_integrations_on_their_resources(template):
    # https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html: lambda:InvokeFunction on each function;
    # sqs-iam.html, sns-iam.html, dynamo-iam.html: the action on the queue / topic / table named statically
    granted = {tuple(s["Action"]): s["Resource"] for s in role_statements(template)}
    assert granted[("lambda:InvokeFunction",)] == [
        {"Fn::GetAtt": [f, "Arn"]}
        for f in ("TaskReportFetchDataFunction", "TaskReportAggregateFunction", "TaskSharedFunction")
    ]
    assert granted[("sqs:SendMessage",)] == [{"Fn::GetAtt": ["JobsQueue", "Arn"]}]
    assert granted[("sns:Publish",)] == [{"Ref": "EventsTopic"}]
    assert granted[("dynamodb:PutItem",)] == [{"Fn::GetAtt": ["OrdersTable", "Arn"]}]  # not audit, not the index
    actions = {a for s in role_statements(template) for a in s["Action"]}
    assert not {a for a in actions if a.split(":")[0] in ("lambda", "sqs", "sns", "dynamodb", "states")} - {
        "lambda:InvokeFunction",
        "sqs:SendMessage",
        "sns:Publish",
        "dynamodb:PutItem",
    }
    # logging and tracing as https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html and xray-iam.html
    assert {"logs:CreateLogDelivery", "logs:PutLogEvents", "logs:PutResourcePolicy", "xray:PutTraceSegments"} <= actions
    machine = template["Resources"]["ReportStateMachine"]["Properties"]
    assert machine["TracingConfiguration"] == {"Enabled": True} and machine["LoggingConfiguration"]["Level"] == "ALL"


def test_the_template_passes_cfn_lint(template, tmp_path):
    assert_lint_clean(template, tmp_path)


def test_a_target_chosen_at_run_time_is_granted_on_every_declared_resource_of_its_kind(tmp_path):
    app = strato.App("flows", data_dir=str(tmp_path / "data"))
    app.table("orders", key="id")
    app.table("audit", key="id")
    wf = app.workflow(
        "dyn",
        definition={
            "StartAt": "Get",
            "States": {
                "Get": {
                    "Type": "Task",
                    "Resource": f"{LAMBDA}dynamodb:getItem",
                    "Parameters": {"TableName.$": "$.table", "Key": {"id": {"S": "1"}}},
                    "End": True,
                }
            },
        },
    )
    plan = Plan(wf, None, None, None).build()
    assert plan.statements() == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem"],
            "Resource": [{"Fn::GetAtt": ["OrdersTable", "Arn"]}, {"Fn::GetAtt": ["AuditTable", "Arn"]}],
        }
    ]
    assert plan.substitutions == {}
    app.close()


def _plan_for(tmp_path, state: dict) -> Plan:
    """A Plan over a definition the local executor may not run yet (wf-callbacks adds those integrations)."""
    app = strato.App("flows", data_dir=str(tmp_path / "data"))
    app.workflow("child", definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    parent = app.workflow("parent", definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    parent.task("Work")(lambda e: e)
    parent.definition = {"StartAt": "S", "States": {"S": {**state, "End": True}}}
    made: list[str] = []

    def function_arn(task: str) -> dict:
        made.append(task)
        return {"Fn::GetAtt": [f"Task{task}Function", "Arn"]}

    plan = Plan(parent, function_arn, lambda name: f"machine:{name}", lambda name: f"executions:{name}:*").build()
    plan.made = made  # type: ignore[attr-defined]
    app.close()
    return plan


@pytest.mark.parametrize("pattern", ["", ".waitForTaskToken"])
def test_lambda_invoke_of_a_task_grants_invoke_on_its_function(tmp_path, pattern):
    # https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html
    params = {"FunctionName": "Work", "Payload.$": "$"}
    plan = _plan_for(tmp_path, {"Type": "Task", "Resource": f"{LAMBDA}lambda:invoke{pattern}", "Parameters": params})
    assert plan.statements() == [
        {
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [{"Fn::GetAtt": ["TaskWorkFunction", "Arn"]}],
        }
    ]
    assert plan.definition["States"]["S"]["Parameters"]["FunctionName"] == "${task_Work}"
    assert plan.substitutions == {"task_Work": {"Fn::GetAtt": ["TaskWorkFunction", "Arn"]}}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", {("states:StartExecution",): ["machine:child"]}),
        (".waitForTaskToken", {("states:StartExecution",): ["machine:child"]}),
        (
            ".sync",
            {
                ("states:StartExecution",): ["machine:child"],
                ("states:DescribeExecution", "states:StopExecution"): ["executions:child:*"],
                ("events:DescribeRule", "events:PutRule", "events:PutTargets"): ["RULE"],
            },
        ),
        (
            ".sync:2",
            {
                ("states:StartExecution",): ["machine:child"],
                ("states:DescribeExecution", "states:StopExecution"): ["executions:child:*"],
                ("events:DescribeRule", "events:PutRule", "events:PutTargets"): ["RULE"],
            },
        ),
    ],
)
def test_start_execution_grants_what_the_guide_lists_per_pattern(tmp_path, pattern, expected):
    # https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html: Synchronous adds
    # DescribeExecution / StopExecution on the executions and events:PutTargets / PutRule / DescribeRule on
    # the rule StepFunctionsGetEventsForStepFunctionsExecutionRule; Asynchronous is StartExecution alone
    params = {"StateMachineArn": "child", "Input.$": "$"}
    plan = _plan_for(
        tmp_path, {"Type": "Task", "Resource": f"{LAMBDA}states:startExecution{pattern}", "Parameters": params}
    )
    rule = {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
        "StepFunctionsGetEventsForStepFunctionsExecutionRule"
    }
    want = {k: [rule if r == "RULE" else r for r in v] for k, v in expected.items()}
    assert {tuple(s["Action"]): s["Resource"] for s in plan.statements()} == want
    assert plan.definition["States"]["S"]["Parameters"]["StateMachineArn"] == "${workflow_child}"
    assert plan.substitutions == {"workflow_child": "machine:child"}


def test_an_undeclared_target_or_unknown_integration_is_refused_naming_the_state(tmp_path):
    params = {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/elsewhere", "MessageBody": "x"}
    with pytest.raises(ConfigurationError, match=r"state 'S'.*no queue of this app"):
        _plan_for(tmp_path, {"Type": "Task", "Resource": f"{LAMBDA}sqs:sendMessage", "Parameters": params})
    with pytest.raises(ConfigurationError, match=r"state 'S'.*no IAM template"):
        _plan_for(tmp_path, {"Type": "Task", "Resource": f"{LAMBDA}ecs:runTask.sync", "Parameters": {}})
    with pytest.raises(ConfigurationError, match=r"state 'S'.*FunctionName"):
        _plan_for(
            tmp_path, {"Type": "Task", "Resource": f"{LAMBDA}lambda:invoke", "Parameters": {"FunctionName.$": "$.f"}}
        )


# -- the task function's Lambda entry -------------------------------------------------------------
class Failure(Exception):
    pass


@pytest.fixture
def entry_app(tmp_path, monkeypatch):
    app, report = declare(tmp_path)

    @report.task("Boom")
    def boom(event):
        raise Failure(f"no rows for {event['n']}")

    @report.task("Named")
    def named(event):
        raise StatesError("Custom.Failure", "named by the handler")

    @report.task("WithContext")
    def with_context(event, context):
        return {"request": context.aws_request_id, "n": event["n"]}

    yield app
    app.close()


def lambda_invoke(app, monkeypatch, task: str, event):
    """What the Python runtime does: call the handler with the event and a context; an exception becomes
    errorType = type(exc).__name__ (awslambdaric bootstrap.build_fault_result)."""
    monkeypatch.setenv("STRATO_WORKFLOW_TASK", f"report/{task}")
    try:
        return {"result": app.lambda_handler(event, LocalContext("flows-dev-task-report-" + task))}
    except Exception as exc:
        return {"errorType": type(exc).__name__, "errorMessage": str(exc)}


def test_the_task_input_goes_in_and_its_output_comes_back(entry_app, monkeypatch):
    assert lambda_invoke(entry_app, monkeypatch, "FetchData", {"n": 4}) == {"result": {"rows": 4}}
    assert lambda_invoke(entry_app, monkeypatch, "Shared", {}) == {"result": "ok"}  # an @app.task
    got = lambda_invoke(entry_app, monkeypatch, "WithContext", {"n": 1})["result"]
    assert got["n"] == 1 and len(got["request"]) == 36  # the Lambda context, on AWS


def test_an_exception_surfaces_as_its_class_name_so_retry_and_catch_match_as_locally(entry_app, monkeypatch):
    # https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html: a Lambda's errors are
    # matched by ErrorEquals on the errorType; locally the executor names an exception the same way
    out = lambda_invoke(entry_app, monkeypatch, "Boom", {"n": 2})
    assert out == {"errorType": "Failure", "errorMessage": "no rows for 2"}
    assert out["errorType"] == of_exception(Failure("x")).error
    assert matches(["Failure"], out["errorType"], from_task=True)
    named = lambda_invoke(entry_app, monkeypatch, "Named", {})
    assert named == {"errorType": "Custom.Failure", "errorMessage": "named by the handler"}
    assert matches(["Custom.Failure"], named["errorType"], from_task=True)


def test_a_function_naming_no_task_is_a_configuration_error(entry_app, monkeypatch):
    monkeypatch.setenv("STRATO_WORKFLOW_TASK", "nowhere/FetchData")
    with pytest.raises(ConfigurationError, match="names no task"):
        entry_app.lambda_handler({}, LocalContext())


def test_a_definition_using_every_integration_declares_runs_and_synthesises_lint_clean(tmp_path):
    """lambda:invoke, startExecution.sync:2 and sqs .waitForTaskToken declared on one app (the executor runs
    them since the callbacks work landed): one substitution per target, the grants the guide lists, cfn-lint clean.
    https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html
    https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html
    https://docs.aws.amazon.com/step-functions/latest/dg/sqs-iam.html"""
    app = strato.App("wfs", data_dir=str(tmp_path / "data"))
    reviews = app.queue("reviews")
    app.task("Score")(lambda event: {"score": 1})
    child = app.workflow("double", definition={"StartAt": "D", "States": {"D": {"Type": "Pass", "End": True}}})
    app.workflow(
        "main",
        definition={
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "Score", "Payload": {"a": 1}},
                    "Next": "Nest",
                },
                "Nest": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child.physical_name, "Input": {}},
                    "Next": "Ask",
                },
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": reviews.physical_name, "MessageBody": {"t.$": "$$.Task.Token"}},
                    "End": True,
                },
            },
        },
    )
    template = synth(app)
    app.close()
    machine = template["Resources"]["MainStateMachine"]["Properties"]
    assert machine["DefinitionSubstitutions"] == {
        "queue_reviews": {"Ref": "ReviewsQueue"},
        "task_Score": {"Fn::GetAtt": ["TaskScoreFunction", "Arn"]},
        "workflow_double": {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:wfs-dev-double"
        },
    }
    statements = role_statements(template, "Main")
    granted = {a for s in statements for a in s["Action"]}
    assert {"lambda:InvokeFunction", "sqs:SendMessage", "states:StartExecution", "states:DescribeExecution"} <= granted
    wildcard = {a for s in statements if s["Resource"] in ("*", ["*"]) for a in s["Action"]}
    assert all(a.startswith(("logs:", "xray:")) for a in wildcard)  # only what log delivery and X-Ray need
    assert_lint_clean(template, tmp_path)


def test_function_settings_on_a_task_handler_reach_its_function(tmp_path):
    """``@strato.function`` on a workflow task handler: the task's Lambda function gets its memory and reserved
    concurrency (docs/production.md)."""
    app = strato.App("wfs", data_dir=str(tmp_path / "data"))
    wf = app.workflow("w", definition={"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "T", "End": True}}})

    @wf.task("T")
    @strato.function(memory=1024, reserved=3)
    def work(event):
        return event

    template = synth(app)
    app.close()
    props = functions(template)["TaskWTFunction"]
    assert props["MemorySize"] == 1024
    assert props["ReservedConcurrentExecutions"] == 3
