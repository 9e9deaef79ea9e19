"""A workflow app for the durability test: a Map over many items, each a small task that takes a while."""

import time

import strato

app = strato.App("wftest")
batch = app.workflow(
    "batch",
    definition={
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Next": "Each"},
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 8,
                "ItemProcessor": {
                    "StartAt": "Square",
                    "States": {
                        "Square": {"Type": "Task", "Resource": "Square", "Next": "Label"},
                        "Label": {"Type": "Pass", "Parameters": {"n.$": "$"}, "End": True},
                    },
                },
                "ResultPath": "$.squares",
                "End": True,
            },
        },
    },
)


reviews = app.queue("reviews")
approval = app.workflow(  # a callback: waits for send_task_success with the token sent to `reviews`
    "approval",
    definition={
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "reviews", "MessageBody": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    },
)
quick = app.workflow("quick", type="EXPRESS", definition=batch.definition)  # Express: at least once


@app.task("Square")
def square(n):
    time.sleep(0.01)  # work that takes a moment, so that a kill lands mid-Map
    return n * n
