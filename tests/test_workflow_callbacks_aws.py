"""The callback API and the new integration patterns through the aws provider (boto3 ``stepfunctions``
against moto_server): the calls reach the service with SendTaskSuccess / SendTaskFailure /
SendTaskHeartbeat's parameters, and definitions using ``.waitForTaskToken``, ``startExecution.sync:2`` and
``lambda:invoke`` are accepted by CreateStateMachine as written.

moto's Step Functions accepts any task token and does not run executions (its SendTask* are no-ops), so
what only a real Step Functions does is kept as strict xfails: an unknown token is TaskDoesNotExist
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html#API_SendTaskSuccess_Errors),
and a ``.waitForTaskToken`` Task sends its token
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token)."""

from __future__ import annotations

import json

import pytest

from strato.workflow.callbacks import InvalidOutput, TaskDoesNotExist
from tests.workflows import machine, wait_until

MOTO_TOKENS = "moto_server gap: SendTaskSuccess accepts any token (a no-op), so TaskDoesNotExist never comes"
MOTO_RUNS = "moto_server gap: Step Functions executions are not run, so the token is never sent"


@pytest.fixture
def app(make_app):
    return make_app("aws")


def ask(queue):
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue.backend.url, "MessageBody": {"token.$": "$$.Task.Token"}},
    }


def plain(app):
    return app.workflow("plain", definition=machine(("P", {"Type": "Pass", "End": True})))


def test_send_task_calls_reach_step_functions(app):
    wf = plain(app)
    token = "AQ" + "ab" * 40  # the calls carry a token, as a worker would hold one
    wf.send_task_heartbeat(token)
    wf.send_task_success(token, {"done": True})
    wf.send_task_failure(token, error="Rejected", cause="no")


def test_output_is_checked_before_the_call(app):
    wf = plain(app)
    with pytest.raises(InvalidOutput):
        wf.send_task_success("AQ" + "ab" * 40, {"big": "x" * 262_144})


@pytest.mark.xfail(strict=True, reason=MOTO_TOKENS, raises=pytest.fail.Exception)
def test_an_unknown_token_is_task_does_not_exist(app):
    with pytest.raises(TaskDoesNotExist):
        plain(app).send_task_success("AQ" + "cd" * 40, {})


def test_definitions_with_the_new_patterns_are_created_as_written(app):
    queue = app.queue("reviews")
    child = plain(app)
    wf = app.workflow(
        "patterns",
        definition=machine(
            ("Ask", {**ask(queue), "Next": "Child"}),
            (
                "Child",
                {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child.backend.arn, "Input": {}},
                    "End": True,
                },
            ),
        ),
    )
    arn = wf.start({})
    described = wf.backend.client.describe_state_machine(stateMachineArn=wf.backend.arn)
    assert json.loads(described["definition"])["States"]["Child"]["Resource"].endswith("startExecution.sync:2")
    assert wf.describe(arn).arn == arn


@pytest.mark.xfail(strict=True, reason=MOTO_RUNS, raises=AssertionError)
def test_a_wait_for_task_token_task_sends_its_token_and_waits(app):
    queue = app.queue("reviews")
    wf = app.workflow(
        "ask",
        definition=machine(("Ask", {**ask(queue), "End": True})),
    )
    arn = wf.start({})
    found: list = []
    wait_until(lambda: found.extend(queue.receive(max_messages=1)) or found, timeout=5)
    wf.send_task_success(json.loads(found[0].body)["token"], {"ok": True})
    wait_until(lambda: wf.describe(arn).status == "SUCCEEDED", timeout=5)
