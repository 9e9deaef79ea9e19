"""Optimized service integrations on the local executor: Task states whose Resource is
``arn:aws:states:::sqs:sendMessage``, ``sns:publish`` or ``dynamodb:getItem/putItem/updateItem/deleteItem``
reach the app's own queue, topic and table.

Shapes and error names follow the Step Functions developer guide's pages "Call Amazon SQS with Step
Functions" (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sqs.html), "Call Amazon SNS with
Step Functions" (.../connect-sns.html) and "Call DynamoDB with Step Functions" (.../connect-ddb.html), and the
SendMessage result (MessageId, MD5OfMessageBody: https://docs.aws.amazon.com/sdkfornet/v4/apidocs/items/SQS/
TSendMessageResponse.html); the Parameters are the service APIs' own, as in the CDK's DynamoPutItem /
DynamoGetItem / SqsSendMessage tasks (https://docs.aws.amazon.com/cdk/api/v2/docs/
aws-cdk-lib.aws_stepfunctions_tasks.DynamoPutItem.html)."""

from __future__ import annotations

import hashlib
import json

import pytest

from strato.core.errors import ConfigurationError
from strato.testing.outbox import Outbox
from tests.workflows import machine, run, single

PUT = "arn:aws:states:::dynamodb:putItem"
GET = "arn:aws:states:::dynamodb:getItem"
SEND = "arn:aws:states:::sqs:sendMessage"
PUBLISH = "arn:aws:states:::sns:publish"


@pytest.fixture
def app(make_app):
    return make_app("local")


@pytest.fixture
def outbox(app):
    box = Outbox(lambda: app).start()
    yield box
    box.stop()


def test_put_get_send_publish_and_catch_a_failed_condition(app, outbox):
    orders = app.table("orders", key="id")
    jobs = app.queue("jobs")
    events = app.topic("events")
    seen = []

    @jobs.consumer()
    def consume(message):
        seen.append(message.json())

    definition = machine(
        (
            "Put",
            {
                "Type": "Task",
                "Resource": PUT,
                "Parameters": {
                    "TableName": orders.physical_name,
                    "Item": {"id": {"S.$": "$.id"}, "total": {"N": "42"}, "tags": {"L": [{"S": "a"}]}},
                },
                "ResultPath": None,
                "Next": "Get",
            },
        ),
        (
            "Get",
            {
                "Type": "Task",
                "Resource": GET,
                "Parameters": {"TableName": orders.physical_name, "Key": {"id": {"S.$": "$.id"}}},
                "ResultSelector": {"total.$": "$.Item.total.N", "item.$": "$.Item"},
                "ResultPath": "$.got",
                "Next": "Send",
            },
        ),
        (
            "Send",
            {
                "Type": "Task",
                "Resource": SEND,
                "Parameters": {
                    "QueueUrl": f"https://sqs.us-east-1.amazonaws.com/000000000000/{jobs.physical_name}",
                    "MessageBody": {"order.$": "$.id", "total.$": "$.got.total"},
                    "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "order"}},
                },
                "ResultPath": "$.sent",
                "Next": "Publish",
            },
        ),
        (
            "Publish",
            {
                "Type": "Task",
                "Resource": PUBLISH,
                "Parameters": {"TopicArn": events.arn, "Message.$": "States.Format('placed {}', $.id)"},
                "ResultPath": "$.published",
                "Next": "PutAgain",
            },
        ),
        (
            "PutAgain",
            {
                "Type": "Task",
                "Resource": PUT,
                "Parameters": {
                    "TableName": "orders",
                    "Item": {"id": {"S.$": "$.id"}},
                    "ConditionExpression": "attribute_not_exists(id)",
                },
                "Catch": [
                    {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.err", "Next": "Done"}
                ],
                "End": True,
            },
        ),
        ("Done", {"Type": "Pass", "End": True}),
    )
    wf = app.workflow("place", definition=definition)

    done = run(app, wf, {"id": "o-1"})

    assert done.status == "SUCCEEDED", done
    out = done.output
    assert out["got"]["total"] == "42"
    assert out["got"]["item"] == {"id": {"S": "o-1"}, "total": {"N": "42"}, "tags": {"L": [{"S": "a"}]}}
    assert orders.get("o-1") == {"id": "o-1", "total": 42, "tags": ["a"]}
    body = json.dumps({"order": "o-1", "total": "42"}, separators=(",", ":"))
    assert out["sent"] == {
        "MessageId": out["sent"]["MessageId"],
        "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest(),
    }
    assert seen == [{"order": "o-1", "total": "42"}]  # the queue's consumer ran under drain
    [message] = outbox.queue("jobs")
    assert message.attributes["kind"] == "order"
    [published] = outbox.topic("events")
    assert published.body == "placed o-1"
    assert out["published"] == {"MessageId": published.details["id"]}
    assert out["err"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    kinds = [(e["type"], e.get("taskSucceededEventDetails", {}).get("resourceType")) for e in wf.history(done.arn)]
    assert ("TaskSucceeded", "dynamodb") in kinds and ("TaskSucceeded", "sqs") in kinds


def test_update_and_delete_return_attributes_and_retry_on_their_error_names(app):
    counters = app.table("counters", key="id")
    counters.put({"id": "c", "n": 1, "old": "x"})
    definition = machine(
        (
            "Bump",
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": counters.physical_name,
                    "Key": {"id": {"S": "c"}},
                    "UpdateExpression": "SET #l = :label REMOVE old ADD n :one",
                    "ConditionExpression": "attribute_exists(id)",
                    "ExpressionAttributeNames": {"#l": "label"},
                    "ExpressionAttributeValues": {":label": {"S": "hi"}, ":one": {"N": "2"}},
                    "ReturnValues": "ALL_NEW",
                },
                "ResultPath": "$.updated",
                "Next": "Delete",
            },
        ),
        (
            "Delete",
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:deleteItem",
                "Parameters": {"TableName": "counters", "Key": {"id": {"S": "c"}}, "ReturnValues": "ALL_OLD"},
                "ResultPath": "$.deleted",
                "Next": "Missing",
            },
        ),
        (
            "Missing",
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "nope", "Key": {"id": {"S": "c"}}},
                "Catch": [{"ErrorEquals": ["DynamoDB.ResourceNotFoundException"], "ResultPath": "$.e", "Next": "Ok"}],
                "End": True,
            },
        ),
        ("Ok", {"Type": "Pass", "End": True}),
    )
    done = run(app, app.workflow("bump", definition=definition), {})
    assert done.status == "SUCCEEDED", done
    new = {"id": {"S": "c"}, "n": {"N": "3"}, "label": {"S": "hi"}}
    assert done.output["updated"] == {"Attributes": new}
    assert done.output["deleted"] == {"Attributes": new}
    assert counters.get("c") is None
    assert "nope" in done.output["e"]["Cause"]


def test_a_bad_message_fails_with_the_service_error_name(app):
    app.queue("jobs", fifo=True)
    wf = app.workflow(
        "bad",
        definition=single({"Type": "Task", "Resource": SEND, "Parameters": {"QueueUrl": "jobs", "MessageBody": "x"}}),
    )
    done = run(app, wf, {})
    assert done.status == "FAILED"
    assert done.error == "SQS.AmazonSQSException" and "message group" in done.cause


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ({"Resource": "arn:aws:states:::sqs:sendMessageBatch", "Parameters": {}}, "unknown service integration"),
        ({"Resource": SEND, "Parameters": {"QueueUrl": "q"}}, "MessageBody"),
        ({"Resource": PUBLISH}, "needs Parameters"),
        ({"Resource": PUT + ".waitForTaskToken", "Parameters": {}}, "request-response only"),
        ({"Resource": SEND + ".sync", "Parameters": {}}, "does not support .sync"),
        ({"Resource": SEND + ".waitForTaskToken", "Parameters": {"QueueUrl": "q", "MessageBody": "x"}}, "Task.Token"),
        (
            {
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {"TableName": "t", "Key": {}, "UpdateExpression": "SET a = a + :one"},
            },
            "UpdateExpression",
        ),
        (
            {
                "Resource": PUT,
                "Parameters": {"TableName": "t", "Item": {}, "ConditionExpression": "size(a) > :n"},
            },
            "ConditionExpression",
        ),
    ],
)
def test_declaration_refuses_what_cannot_run_naming_the_state(app, state, says):
    with pytest.raises(ConfigurationError, match=rf"state 'S'.*{says}|{says}.*"):
        app.workflow("w", definition=single({"Type": "Task", **state}))
    with pytest.raises(ConfigurationError, match="state 'S'"):
        app.workflow("w2", definition=single({"Type": "Task", **state}))


def test_integrations_are_not_python_tasks(app):
    wf = app.workflow(
        "w", definition=single({"Type": "Task", "Resource": PUBLISH, "Parameters": {"TopicArn": "t", "Message": "m"}})
    )
    assert wf.task_resources() == []


def test_synth_grants_the_integration_on_the_declared_resource_and_refuses_an_undeclared_one(app):
    from strato.deploy.synth import synth

    app.topic("t")
    app.workflow(
        "w", definition=single({"Type": "Task", "Resource": PUBLISH, "Parameters": {"TopicArn": "t", "Message": "m"}})
    )
    role = synth(app)["Resources"]["WStateMachineRole"]["Properties"]
    granted = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if s["Action"] == ["sns:Publish"]]
    assert granted == [{"Effect": "Allow", "Action": ["sns:Publish"], "Resource": [{"Ref": "TTopic"}]}]
    app.workflow(
        "v", definition=single({"Type": "Task", "Resource": PUBLISH, "Parameters": {"TopicArn": "x", "Message": "m"}})
    )
    with pytest.raises(ConfigurationError, match="state 'S': no topic of this app is named 'x'"):
        synth(app)


def test_resources_resolve_by_url_arn_physical_or_strato_name_and_physical_names_win(app, outbox):
    jobs = app.queue("jobs")
    orders = app.queue("orders", fifo=True)
    news = app.topic("news")
    # a queue whose strato name is another queue's physical name: Step Functions would mean the physical one
    shadow = app.queue(jobs.physical_name)

    def send(queue_url, **more):
        return {"Type": "Task", "Resource": SEND, "Parameters": {"QueueUrl": queue_url, "MessageBody": "m", **more}}

    definition = machine(
        ("ByArn", {**send(jobs.arn), "ResultPath": None, "Next": "ByName"}),
        ("ByName", {**send("jobs"), "ResultPath": None, "Next": "ByPhysical"}),
        ("ByPhysical", {**send(jobs.physical_name), "ResultPath": None, "Next": "Fifo"}),
        (
            "Fifo",
            {
                **send(orders.physical_name, MessageGroupId="g", MessageDeduplicationId="d1"),
                "ResultPath": None,
                "Next": "Topic",
            },
        ),
        (
            "Topic",
            {
                "Type": "Task",
                "Resource": PUBLISH,
                "Parameters": {"TopicArn": "news", "Message": {"a": 1}, "Subject": "hello"},
                "ResultPath": None,
                "Next": "Nowhere",
            },
        ),
        (
            "Nowhere",
            {
                **send("https://sqs.us-east-1.amazonaws.com/000000000000/missing"),
                "Catch": [{"ErrorEquals": ["SQS.QueueDoesNotExistException"], "ResultPath": "$.e", "Next": "Ok"}],
                "End": True,
            },
        ),
        ("Ok", {"Type": "Pass", "End": True}),
    )
    done = run(app, app.workflow("route", definition=definition), {})
    assert done.status == "SUCCEEDED", done
    assert len(outbox.queue("jobs")) == 3  # the ARN, the strato name and the physical name
    assert outbox.queue(shadow.name) == []
    [fifo] = outbox.queue("orders")
    assert fifo.details["group"] == "g" and fifo.details["dedup_id"] == "d1"
    [note] = outbox.topic("news")
    assert note.json() == {"a": 1} and note.details["subject"] == "hello"
    assert "missing" in done.output["e"]["Cause"]
    assert news.name == "news"


def test_get_of_a_missing_item_is_an_empty_result_and_a_bad_key_is_a_dynamodb_error(app):
    app.table("things", key="id")
    definition = machine(
        (
            "Get",
            {
                "Type": "Task",
                "Resource": GET,
                "Parameters": {"TableName": "things", "Key": {"id": {"S": "none"}}},
                "ResultPath": "$.got",
                "Next": "Bad",
            },
        ),
        (
            "Bad",
            {
                "Type": "Task",
                "Resource": GET,
                "Parameters": {"TableName": "things", "Key": {"id": {"SS": ["a"]}}},
                "Retry": [{"ErrorEquals": ["DynamoDB.AmazonDynamoDBException"], "MaxAttempts": 0}],
                "Catch": [{"ErrorEquals": ["DynamoDB.AmazonDynamoDBException"], "ResultPath": "$.e", "Next": "Ok"}],
                "End": True,
            },
        ),
        ("Ok", {"Type": "Pass", "End": True}),
    )
    done = run(app, app.workflow("missing", definition=definition), {})
    assert done.status == "SUCCEEDED", done
    assert done.output["got"] == {}
    assert "SS" in done.output["e"]["Cause"]


def test_a_return_values_path_strato_cannot_honour_fails_as_a_dynamodb_error(app):
    app.table("things", key="id")
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": "things",
            "Key": {"id": {"S": "a"}},
            "UpdateExpression": "SET b = :b",
            "ExpressionAttributeValues": {":b": {"S": "x"}},
            "ReturnValues.$": "$.returns",
        },
    }
    done = run(app, app.workflow("returns", definition=single(state)), {"returns": "UPDATED_OLD"})
    assert done.status == "FAILED"
    assert done.error == "DynamoDB.AmazonDynamoDBException" and "UPDATED_OLD" in done.cause
