"""Workflow variables (``Assign``) on the local executor, in both query languages, built from the developer
guide's "Passing data between states with variables" (``dg/workflow-variables.html``): assignment and
reference, evaluation from the values at state entry, scope (Map and Parallel read outer variables but may
not assign them), Catch Assign, the size limits, names, history, and durability across a killed worker."""

from __future__ import annotations

import json

import pytest

from strato.core.errors import ConfigurationError
from strato.loader import load_app
from tests.conftest import ROOT
from tests.workflows import JSONATA as J
from tests.workflows import kill_and_resume, machine, run_tasks, single, succeeded

PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html"


@pytest.fixture
def app(make_app):
    return make_app("local")


# -- assign and read -------------------------------------------------------------------------------------
def test_the_guides_assign_example_is_read_by_a_later_state(app):
    # PAGE "States that support variables": "Assign": {"productName": "product1", "count": 42, "available": true}
    definition = machine(
        ("Set", {"Type": "Pass", "Assign": {"productName": "product1", "count": 42, "available": True}, "Next": "Gap"}),
        ("Gap", {"Type": "Pass", "Output": {"unrelated": 1}, "Next": "Use"}),
        (
            "Use",
            {
                "Type": "Pass",
                "Output": {"p": "{% $productName %}", "c": "{% $count + 1 %}", "a": "{% $available %}"},
                "End": True,
            },
        ),
        **J,
    )
    assert succeeded(app, definition) == {"p": "product1", "c": 43, "a": True}


def test_assign_and_output_read_the_values_from_state_entry(app):
    # PAGE "Evaluation of Assign": expressions in a state read the variables' values at state entry, so a
    # swap works and Output does not see what the same state assigns
    definition = machine(
        ("Init", {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "Swap"}),
        (
            "Swap",
            {"Type": "Pass", "Assign": {"x": "{% $y %}", "y": "{% $x %}"}, "Output": {"x": "{% $x %}"}, "Next": "Read"},
        ),
        (
            "Read",
            {
                "Type": "Pass",
                "Output": {"before": "{% $states.input.x %}", "x": "{% $x %}", "y": "{% $y %}"},
                "End": True,
            },
        ),
        **J,
    )
    assert succeeded(app, definition) == {"before": 1, "x": 2, "y": 1}


def test_task_assign_reads_states_result(app):
    # PAGE: "$states.result ... Assign"; the output stays the result
    definition = machine(
        ("Call", {"Type": "Task", "Resource": "Get", "Assign": {"user": "{% $states.result.name %}"}, "Next": "Use"}),
        ("Use", {"Type": "Pass", "Output": {"hello": "{% $user %}", "in": "{% $states.input %}"}, "End": True}),
        **J,
    )
    assert succeeded(app, definition, Get=lambda e: {"name": "Ada"}) == {"hello": "Ada", "in": {"name": "Ada"}}


def test_a_variable_may_hold_null(app):
    definition = machine(
        ("Set", {"Type": "Pass", "Assign": {"nothing": None, "list": [None]}, "Next": "Use"}),
        ("Use", {"Type": "Pass", "Output": {"n": "{% $nothing %}", "l": "{% $list %}"}, "End": True}),
        **J,
    )
    assert succeeded(app, definition) == {"n": None, "l": [None]}


def test_an_unassigned_variable_is_a_query_evaluation_error(app):
    _, found = run_tasks(app, single({"Type": "Pass", "Output": "{% $never %}"}) | J)
    assert found.error == "States.QueryEvaluationError"


# -- JSONPath states ---------------------------------------------------------------------------------------
def test_jsonpath_assign_with_dollar_keys_and_variable_paths(app):
    # PAGE "Assign in JSONPath states": keys ending in .$ take a path; $ is the state's result (after
    # ResultSelector), $$ the context object; "$name" reads a variable in any JSONPath field
    definition = machine(
        (
            "Call",
            {
                "Type": "Task",
                "Resource": "Get",
                "ResultSelector": {"order.$": "$.order"},
                "Assign": {"order.$": "$.order", "static": "s", "state.$": "$$.State.Name"},
                "ResultPath": None,
                "Next": "Use",
            },
        ),
        (
            "Use",
            {
                "Type": "Pass",
                "Parameters": {
                    "id.$": "$order.id",
                    "first.$": "$order.items[0]",
                    "count.$": "States.ArrayLength($order.items)",
                    "static.$": "$static",
                    "state.$": "$state",
                    "kept.$": "$.kept",
                },
                "Next": "Check",
            },
        ),
        (
            "Check",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$order.id", "NumericEquals": 7, "Next": "Yes", "Assign": {"picked": "yes"}}],
                "Default": "No",
            },
        ),
        ("Yes", {"Type": "Pass", "Parameters": {"picked.$": "$picked", "in.$": "$"}, "End": True}),
        ("No", {"Type": "Fail", "Error": "NoMatch"}),
    )
    out = succeeded(app, definition, {"kept": True}, Get=lambda e: {"order": {"id": 7, "items": ["a", "b"]}, "x": 1})
    assert out == {
        "picked": "yes",
        "in": {"id": 7, "first": "a", "count": 2, "static": "s", "state": "Call", "kept": True},
    }


def test_jsonpath_catch_assign_reads_the_error_output(app):
    # PAGE: a Catch may Assign; in a JSONPath state $ is the error output ({"Error", "Cause"})
    catcher = {"ErrorEquals": ["States.ALL"], "Assign": {"why.$": "$.Error"}, "ResultPath": "$.err", "Next": "After"}
    after = {"Type": "Pass", "Parameters": {"why.$": "$why", "err.$": "$.err.Error"}, "End": True}
    call = {"Type": "Task", "Resource": "Boom", "Catch": [catcher], "End": True}
    out = succeeded(app, machine(("Call", call), ("After", after)), {}, Boom=lambda e: {}["gone"])
    assert out == {"why": "KeyError", "err": "KeyError"}


def test_a_jsonpath_variable_that_is_not_assigned_is_states_runtime(app):
    _, found = run_tasks(app, single({"Type": "Pass", "Parameters": {"v.$": "$nothing"}}))
    assert found.error == "States.Runtime" and "$nothing" in found.cause


# -- scope ---------------------------------------------------------------------------------------------------
def test_map_iterations_read_outer_variables_and_keep_their_own(app):
    # PAGE "Variable scope": states inside a Map or Parallel read outer-scope variables; each iteration has its
    # own workflow-local variables, invisible to other iterations and to the outer scope
    definition = machine(
        ("Outer", {"Type": "Pass", "Assign": {"rate": 10}, "Next": "Each"}),
        (
            "Each",
            {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "ItemProcessor": {
                    "StartAt": "Mine",
                    "States": {
                        "Mine": {"Type": "Pass", "Assign": {"local": "{% $states.input * $rate %}"}, "Next": "Read"},
                        "Read": {"Type": "Pass", "Output": "{% $local %}", "End": True},
                    },
                },
                "Next": "After",
            },
        ),
        ("After", {"Type": "Pass", "Output": {"each": "{% $states.input %}", "rate": "{% $rate %}"}, "End": True}),
        **J,
    )
    assert succeeded(app, definition, {"items": [1, 2, 3]}) == {"each": [10, 20, 30], "rate": 10}
    leak = machine(
        ("Each", {**definition["States"]["Each"], "Next": "Leak"}),
        ("Leak", {"Type": "Pass", "Output": "{% $local %}", "End": True}),
        **J,
    )
    leak["States"]["Each"]["Items"] = [1]
    _, found = run_tasks(app, leak)
    assert found.error == "States.QueryEvaluationError"  # $local lived in the iteration's scope only


def test_parallel_branches_read_outer_variables(app):
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Output": "{% $base + 1 %}", "End": True}}}
    definition = machine(
        ("Set", {"Type": "Pass", "Assign": {"base": 41}, "Next": "Fan"}),
        (
            "Fan",
            {"Type": "Parallel", "Branches": [branch], "Assign": {"got": "{% $states.result[0] %}"}, "Next": "Out"},
        ),
        ("Out", {"Type": "Pass", "Output": "{% $got %}", "End": True}),
        **J,
    )
    assert succeeded(app, definition) == 42


def test_an_inner_state_may_not_assign_an_outer_variable(app):
    # PAGE "Variable scope": inner states read outer variables but cannot assign to them
    definition = machine(
        ("Outer", {"Type": "Pass", "Assign": {"total": 0}, "Next": "Each"}),
        (
            "Each",
            {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Add",
                    "States": {"Add": {"Type": "Pass", "Assign": {"total": 1}, "End": True}},
                },
                "End": True,
            },
        ),
        **J,
    )
    with pytest.raises(ConfigurationError, match=r"state 'Add': assigns \$total, a variable of an outer scope"):
        app.workflow("bad", definition=definition)


# -- names, limits and history ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["1st", "has space", "a-b", "states", "x" * 81])
def test_bad_variable_names_are_refused(app, name):
    # PAGE "Variable name syntax": Unicode identifiers, at most 80 characters; $states is reserved
    with pytest.raises(ConfigurationError, match="state 'S'"):
        app.workflow("bad", definition=single({"Type": "Pass", "Assign": {name: 1}}) | J)


def test_succeed_and_fail_states_do_not_assign(app):
    # PAGE "States that support variables": Pass, Task, Map, Parallel, Choice, Wait
    with pytest.raises(ConfigurationError, match="state 'S': field 'Assign' is not allowed in a Succeed state"):
        app.workflow("bad", definition=machine(("S", {"Type": "Succeed", "Assign": {"a": 1}})))


def test_a_variable_over_256_kib_fails_with_data_limit_exceeded(app):
    # PAGE "Size limits": a variable's value and one state's Assign are at most 256 KiB
    big = "x" * (200 * 1024)
    one = single({"Type": "Pass", "Assign": {"v": "{% $states.input.big & $states.input.big %}"}}) | J
    _, found = run_tasks(app, one, {"big": big})
    assert found.error == "States.DataLimitExceeded" and "$v" in found.cause
    two = single({"Type": "Pass", "Assign": {"a": "{% $states.input.big %}", "b": "{% $states.input.big %}"}}) | J
    _, found = run_tasks(app, two, {"big": big})
    assert found.error == "States.DataLimitExceeded" and "Assign" in found.cause


def test_state_exited_events_list_the_assigned_variables(app):
    # apireference/API_StateExitedEventDetails.html: assignedVariables, name -> serialized JSON
    wf, found = run_tasks(app, single({"Type": "Pass", "Assign": {"a": {"k": [1]}, "b": "s"}}) | J)
    exited = next(e for e in wf.history(found.arn) if e["type"] == "PassStateExited")["stateExitedEventDetails"]
    assert exited["assignedVariables"] == {"a": '{"k":[1]}', "b": '"s"'}
    assert exited["assignedVariablesDetails"] == {"truncated": False}


# -- durability -------------------------------------------------------------------------------------------------
ITEMS = 200


def test_variables_survive_a_killed_worker(tmp_path, monkeypatch):
    # the variables of every scope (before the Map, in each iteration, after it) are in the store with the
    # transition that assigned them, so a worker SIGKILLed mid-Map and a new one finish with the same values
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path))
    app = load_app(str(ROOT / "tests" / "apps" / "workflow_vars_app.py"))
    wf = app.resources[("workflow", "scaled")]
    arn = wf.start({"items": list(range(ITEMS)), "factor": 3}, name="vars-1")

    def done() -> int:
        return sum(1 for e in wf.history(arn) if e["type"] == "MapIterationSucceeded")

    def mid_map() -> None:
        assert done() < ITEMS and wf.describe(arn).status == "RUNNING"

    kill_and_resume(
        "workflow_vars_app.py", tmp_path, lambda: done() >= 30, mid_map, lambda: wf.describe(arn).status != "RUNNING"
    )
    found = wf.describe(arn)
    assert found.status == "SUCCEEDED", (found.error, found.cause)
    assert found.output == {"factor": 3, "count": ITEMS, "each": [{"n": 3 * i, "by": "run"} for i in range(ITEMS)]}
    assigned = [e for e in wf.history(arn) if "assignedVariables" in e.get("stateExitedEventDetails", {})]
    assert json.loads(assigned[0]["stateExitedEventDetails"]["assignedVariables"]["factor"]) == 3
    app.close()
