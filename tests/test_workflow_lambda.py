"""``arn:aws:states:::lambda:invoke`` (and a Resource that is the function's ARN) of a strato task.

Pages: "Invoke an AWS Lambda function with Step Functions" (https://docs.aws.amazon.com/step-functions/
latest/dg/connect-lambda.html: "The Payload field of the response is parsed from escaped Json to Json";
"If an exception is raised within the Lambda function, the Task will fail"), "Handle Lambda service
exceptions" (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html: Lambda
errors are reported as ``Lambda.<Exception>``; unhandled errors such as out-of-memory as Lambda.Unknown,
matched by States.TaskFailed), "Handling error conditions" (https://docs.aws.amazon.com/step-functions/
latest/dg/tutorial-handling-error-conditions.html: a function's exception is the error, by its type
name), and Lambda's Invoke response (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html:
StatusCode 200 for RequestResponse, 202 for Event, 204 for DryRun; ExecutedVersion)."""

from __future__ import annotations

import json

import pytest

from strato.core.errors import ConfigurationError
from tests.workflows import machine, run

INVOKE = "arn:aws:states:::lambda:invoke"


@pytest.fixture
def app(make_app):
    app = make_app("local")

    @app.task("Double")
    def double(event):
        return {"twice": event["n"] * 2}

    @app.task("Explode")
    def explode(event):
        raise ValueError(f"cannot take {event['n']}")

    @app.task("Hungry")
    def hungry(event):
        raise MemoryError("out of memory")

    return app


def invoke(params, **extra):
    return machine(("Call", {"Type": "Task", "Resource": INVOKE, "Parameters": params, "End": True, **extra}))


def test_the_result_is_lambdas_invoke_response_with_the_payload_parsed(app):
    wf = app.workflow("w", definition=invoke({"FunctionName": "Double", "Payload.$": "$"}))
    done = run(app, wf, {"n": 21})
    out = done.output
    assert out["Payload"] == {"twice": 42}
    assert (out["StatusCode"], out["ExecutedVersion"]) == (200, "$LATEST")
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert out["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"] == "application/json"
    assert out["SdkResponseMetadata"]["RequestId"] == out["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"]


def test_result_selector_picks_the_payload_as_the_guide_does(app):
    wf = app.workflow(
        "w",
        definition=invoke(
            {"FunctionName": "Double", "Payload": {"n.$": "$.value"}}, ResultSelector={"r.$": "$.Payload.twice"}
        ),
    )
    assert run(app, wf, {"value": 5}).output == {"r": 10}


@pytest.mark.parametrize(
    "name",
    [
        "Double",
        "${Double}",
        "arn:aws:lambda:us-east-1:123456789012:function:Double",
        "arn:aws:lambda:us-east-1:123456789012:function:Double:live",
        "DEPLOYED",  # <app>-<stage>-<task>: the deployed function's name
    ],
)
def test_function_name_is_the_task_its_function_name_or_arn(app, name):
    if name == "DEPLOYED":
        name = f"arn:aws:lambda:us-east-1:123456789012:function:{app.name}-{app.config.stage}-Double"
    wf = app.workflow("w", definition=invoke({"FunctionName": name, "Payload": {"n": 1}}))
    assert run(app, wf).output["Payload"] == {"twice": 2}


def test_a_function_error_is_named_by_its_type_with_lambdas_error_document(app):
    wf = app.workflow("w", definition=invoke({"FunctionName": "Explode", "Payload.$": "$"}))
    done = run(app, wf, {"n": 3})
    assert (done.status, done.error) == ("FAILED", "ValueError")
    document = json.loads(done.cause)
    assert (document["errorType"], document["errorMessage"]) == ("ValueError", "cannot take 3")
    assert isinstance(document["stackTrace"], list)


def test_out_of_memory_is_lambda_unknown_and_task_failed_catches_it(app):
    catch = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
    wf = app.workflow(
        "w",
        definition=machine(
            (
                "Call",
                {
                    "Type": "Task",
                    "Resource": INVOKE,
                    "Parameters": {"FunctionName": "Hungry"},
                    "Catch": catch,
                    "End": True,
                },
            ),
            ("Caught", {"Type": "Pass", "End": True}),
        ),
    )
    assert run(app, wf).output["Error"] == "Lambda.Unknown"


def test_an_unknown_function_is_resource_not_found(app):
    wf = app.workflow("w", definition=invoke({"FunctionName.$": "$.fn"}))
    assert run(app, wf, {"fn": "Nope"}).error == "Lambda.ResourceNotFoundException"


def test_event_invocation_is_202_with_an_empty_payload(app):
    wf = app.workflow(
        "w", definition=invoke({"FunctionName": "Explode", "InvocationType": "Event", "Payload": {"n": 1}})
    )
    done = run(app, wf)
    assert done.status == "SUCCEEDED"
    assert (done.output["StatusCode"], done.output["Payload"]) == (202, "")


def test_a_resource_that_is_the_function_arn_returns_the_plain_result(app):
    wf = app.workflow(
        "w",
        definition=machine(
            ("Call", {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Double", "End": True})
        ),
    )
    assert run(app, wf, {"n": 4}).output == {"twice": 8}


def test_declaration_needs_a_function_name_and_known_parameters(app):
    with pytest.raises(ConfigurationError, match=r"state 'Call'.*FunctionName"):
        app.workflow("w", definition=invoke({"Payload": {}}))
    with pytest.raises(ConfigurationError, match=r"state 'Call'.*Color"):
        app.workflow("w2", definition=invoke({"FunctionName": "Double", "Color": "red"}))
