"""Parallel and Map on the local executor: results in branch / item order, ItemsPath, ItemSelector, the
concurrency bound (MaxConcurrency, measured by the handlers themselves), tolerated failures, and a failing
branch failing the whole state (caught like a task's error). Pages: state-parallel.html, state-map-inline.html."""

from __future__ import annotations

import threading
import time

import pytest

from strato.local.worker import Worker
from tests.workflows import machine, run, single, wait_until


@pytest.fixture
def app(make_app):
    return make_app("local")


def test_parallel_gives_each_branch_the_input_and_collects_outputs_in_order(app):
    # state-parallel.html: "the output is an array with one element for each branch"
    wf = app.workflow(
        "p",
        definition=machine(
            (
                "P",
                {
                    "Type": "Parallel",
                    "ResultPath": "$.results",
                    "Next": "Done",
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "Add", "End": True}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "Sub", "End": True}}},
                    ],
                },
            ),
            ("Done", {"Type": "Succeed"}),
        ),
    )
    wf.task("Add")(lambda e: e["x"] + e["y"])
    wf.task("Sub")(lambda e: e["x"] - e["y"])
    found = run(app, wf, {"x": 3, "y": 2})
    assert found.output == {"x": 3, "y": 2, "results": [5, 1]}


def test_a_failing_branch_fails_the_parallel_and_its_catch_handles_it(app):
    wf = app.workflow(
        "p",
        definition=machine(
            (
                "P",
                {
                    "Type": "Parallel",
                    "Next": "Done",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}],
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "Broken", "Cause": "b"}}},
                    ],
                },
            ),
            ("Done", {"Type": "Succeed"}),
        ),
    )
    found = run(app, wf, {"k": 1})
    assert found.output == {"k": 1, "err": {"Error": "Broken", "Cause": "b"}}
    types = [e["type"] for e in wf.history(found.arn)]
    assert "ParallelStateFailed" in types


def test_map_items_path_and_result_order(app):
    # state-map-inline.html: the output is an array of each iteration's output, in item order
    wf = app.workflow(
        "m",
        definition=single(
            {
                "Type": "Map",
                "ItemsPath": "$.detail.shipped",
                "ResultPath": "$.detail.shipped",
                "ItemProcessor": {
                    "StartAt": "V",
                    "States": {"V": {"Type": "Task", "Resource": "Validate", "End": True}},
                },
            }
        ),
    )
    wf.task("Validate")(lambda item: {**item, "valid": item["prod"] != "X"})
    given = {
        "ship-date": "2016-03-14T01:59:00Z",
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [
                {"prod": "R31", "dest-code": 9511, "quantity": 1344},
                {"prod": "S39", "dest-code": 9511, "quantity": 40},
                {"prod": "X", "dest-code": 9833, "quantity": 12},
            ],
        },
    }
    found = run(app, wf, given)
    assert [s["valid"] for s in found.output["detail"]["shipped"]] == [True, True, False]
    assert found.output["ship-date"] == "2016-03-14T01:59:00Z"


def test_map_over_nothing_is_an_empty_list_and_a_non_array_is_states_runtime(app):
    definition = single(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        }
    )
    wf = app.workflow("m", definition=definition)
    assert run(app, wf, {"items": []}).output == []
    found = run(app, wf, {"items": {"not": "an array"}})
    assert (found.status, found.error) == ("FAILED", "States.Runtime")


def test_map_runs_at_most_max_concurrency_items_at_once(app):
    lock = threading.Lock()
    now_running, most = [0], [0]

    wf = app.workflow(
        "m",
        definition=single(
            {
                "Type": "Map",
                "MaxConcurrency": 3,
                "ItemProcessor": {
                    "StartAt": "Slow",
                    "States": {"Slow": {"Type": "Task", "Resource": "Slow", "End": True}},
                },
            }
        ),
    )

    @wf.task("Slow")
    def slow(item):
        with lock:
            now_running[0] += 1
            most[0] = max(most[0], now_running[0])
        time.sleep(0.05)  # work that takes a while, so that concurrent iterations overlap
        with lock:
            now_running[0] -= 1
        return item * 10

    worker = Worker(app, poll_wait=0.05).start()
    try:
        arn = wf.start(list(range(12)))
        wait_until(lambda: wf.describe(arn).status != "RUNNING", timeout=60)
    finally:
        worker.stop(10)
    found = wf.describe(arn)
    assert found.output == [i * 10 for i in range(12)]
    assert 1 < most[0] <= 3


def test_map_tolerated_failures(app):
    def definition(**tolerance):
        return single(
            {
                "Type": "Map",
                **tolerance,
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "Odd", "End": True}}},
            }
        )

    tolerant = app.workflow("tolerant", definition=definition(ToleratedFailureCount=2))
    strict = app.workflow("strict", definition=definition(ToleratedFailurePercentage=10))
    plain = app.workflow("plain", definition=definition())

    def odd(n):
        if n % 2:
            raise ValueError(f"odd {n}")
        return n

    for wf in (tolerant, strict, plain):
        wf.task("Odd")(odd)
    found = run(app, tolerant, [0, 1, 2, 3])
    assert found.status == "SUCCEEDED"
    assert found.output == [0, {"Error": "ValueError", "Cause": "odd 1"}, 2, {"Error": "ValueError", "Cause": "odd 3"}]
    found = run(app, strict, [0, 1, 2, 3])
    assert (found.status, found.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    found = run(app, plain, [0, 1])
    assert (found.status, found.error) == ("FAILED", "ValueError")


def test_nested_map_inside_parallel(app):
    wf = app.workflow(
        "n",
        definition=single(
            {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "M",
                        "States": {
                            "M": {
                                "Type": "Map",
                                "ItemProcessor": {
                                    "StartAt": "I",
                                    "States": {
                                        "I": {
                                            "Type": "Pass",
                                            "Parameters": {"v.$": "States.MathAdd($, 1)"},
                                            "End": True,
                                        }
                                    },
                                },
                                "End": True,
                            }
                        },
                    },
                    {"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Result": "q", "End": True}}},
                ],
            }
        ),
    )
    assert run(app, wf, [1, 2]).output == [[{"v": 2}, {"v": 3}], "q"]


def test_every_transition_is_in_the_history_once(app):
    wf = app.workflow(
        "h",
        definition=single(
            {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "A",
                    "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
                },
            }
        ),
    )
    found = run(app, wf, list(range(5)))
    events = wf.history(found.arn)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["previousEventId"] == e["id"] - 1 for e in events)
    started = [e["mapIterationStartedEventDetails"]["index"] for e in events if e["type"] == "MapIterationStarted"]
    assert sorted(started) == [0, 1, 2, 3, 4]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "PassStateEntered"]
    assert sorted(entered) == ["A"] * 5 + ["B"] * 5


def test_a_map_item_over_256_kb_fails_the_map_with_data_limit_exceeded(app):
    wf = app.workflow(
        "big",
        definition=single(
            {
                "Type": "Map",
                "ResultPath": None,  # two 200 KB results would be over the limit themselves
                "ItemSelector": {"pad.$": "$.pad", "i.$": "$$.Map.Item.Value"},
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            }
        ),
    )
    found = run(app, wf, {"items": [1, 2], "pad": "x" * (200 * 1024)})
    assert found.status == "SUCCEEDED"
    wf2 = app.workflow(
        "bigger",
        definition=single(
            {
                "Type": "Map",
                "ItemSelector": {"a.$": "$.pad", "b.$": "$.pad"},
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}},
            }
        ),
    )
    found = run(app, wf2, {"items": [1], "pad": "x" * (130 * 1024)})
    assert (found.status, found.error) == ("FAILED", "States.DataLimitExceeded")
