"""JSONata states on the local executor, built from the developer guide (``dg/<page>`` = GUIDE + page):
transforming-data.html ("Transforming data with JSONata in Step Functions": Arguments / Output, ``$states``,
the functions Step Functions adds, converting from JSONPath) and concepts-error-handling.html
(States.QueryEvaluationError)."""

from __future__ import annotations

import re

import pytest

from strato.core.errors import ConfigurationError
from tests.workflows import JSONATA as J
from tests.workflows import machine, run, run_tasks, single, succeeded

GUIDE = "https://docs.aws.amazon.com/step-functions/latest/dg"


@pytest.fixture
def app(make_app):
    return make_app("local")


# -- Arguments and Output ------------------------------------------------------------------------------
def test_the_guides_conversion_sample_arguments_with_a_variable_and_a_literal(app):
    # dg/transforming-data.html: "Sample after conversion to JSONata": Arguments replaces Parameters, no .$ keys;
    # a string without {% %} ("$customerName") is not evaluated
    seen = []
    definition = machine(
        ("Remember", {"Type": "Pass", "Assign": {"customerName": "{% $states.input.customer %}"}, "Next": "Call"}),
        (
            "Call",
            {
                "Type": "Task",
                "Resource": "Echo",
                "Arguments": {
                    "static": "Hello",
                    "title": "{% $states.input.title %}",
                    "name": "{% $customerName %}",
                    "not-evaluated": "$customerName",
                },
                "End": True,
            },
        ),
        **J,
    )
    out = succeeded(app, definition, {"title": "Dr", "customer": "Ada"}, Echo=lambda e: seen.append(e) or {"ok": 1})
    assert seen == [{"static": "Hello", "title": "Dr", "name": "Ada", "not-evaluated": "$customerName"}]
    assert out == {"ok": 1}  # without Output, a Task's output is its result


def test_task_output_reads_states_result_and_states_input(app):
    # dg/transforming-data.html: "$states.result ... available in Output and Assign of Task, Parallel, Map"
    state = {
        "Type": "Task",
        "Resource": "Add",
        "Arguments": {"a": "{% $states.input.x %}", "b": 2},
        "Output": {"sum": "{% $states.result %}", "was": "{% $states.input.x %}", "n": "{% $count([1, 2]) %}"},
    }
    out = succeeded(app, single(state) | J, {"x": 40}, Add=lambda e: e["a"] + e["b"])
    assert out == {"sum": 42, "was": 40, "n": 2}


def test_pass_output_defaults_to_the_input_and_may_be_one_expression(app):
    # dg/transforming-data.html: Output replaces ResultSelector / ResultPath / OutputPath
    assert succeeded(app, single({"Type": "Pass"}) | J, {"a": 1}) == {"a": 1}
    state = {"Type": "Pass", "Output": "{% $states.input.items[price > 10].name %}"}
    given = {"items": [{"name": "a", "price": 5}, {"name": "b", "price": 20}, {"name": "c", "price": 30}]}
    assert succeeded(app, single(state) | J, given) == ["b", "c"]
    context = {"Type": "Pass", "Output": "{% $states.context.State.Name & ':' & $states.context.Execution.Name %}"}
    wf = app.workflow("ctx", definition=single(context) | J)
    assert run(app, wf, {}, name="run-1").output == "S:run-1"


def test_a_jsonpath_machine_may_hold_a_jsonata_state(app):
    # dg/transforming-data.html: "For existing ... workflows that use JSONPath ... convert individual states"
    definition = machine(
        ("Old", {"Type": "Pass", "Parameters": {"v.$": "$.x"}, "Next": "New"}),
        ("New", {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.v * 2 %}", "End": True}),
    )
    assert succeeded(app, definition, {"x": 21}) == 42


# -- the other states ----------------------------------------------------------------------------------
def test_choice_conditions_with_state_and_rule_assign_and_default(app):
    # dg/state-choice.html "Choice Rules (JSONata)": Condition evaluates to true/false; a rule's Assign applies
    # when that rule matches, "an Assign block at the state level ... applies regardless of which choice rule
    # matches"; the state's Output applies to every way out
    definition = machine(
        (
            "Pick",
            {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.age >= 18 %}", "Next": "Adult", "Assign": {"kind": "adult"}},
                ],
                "Default": "Minor",
                "Assign": {"kind": "unknown", "checked": True},
                "Output": {"who": "{% $states.input.name %}"},
            },
        ),
        (
            "Adult",
            {
                "Type": "Pass",
                "Output": {"kind": "{% $kind %}", "checked": "{% $checked %}", "in": "{% $states.input %}"},
                "End": True,
            },
        ),
        ("Minor", {"Type": "Pass", "Output": {"kind": "{% $kind %}", "in": "{% $states.input %}"}, "End": True}),
        **J,
    )
    assert succeeded(app, definition, {"age": 30, "name": "Ada"}) == {
        "kind": "adult",
        "checked": True,
        "in": {"who": "Ada"},
    }
    assert succeeded(app, definition, {"age": 3, "name": "Bo"}) == {"kind": "unknown", "in": {"who": "Bo"}}


def test_choice_condition_that_is_not_a_boolean_is_a_query_evaluation_error(app):
    # dg/concepts-error-handling.html: States.QueryEvaluationError: "an incorrectly typed result"
    state = {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "End"}], "Default": "End"}
    definition = machine(("Pick", state), ("End", {"Type": "Succeed"}), **J)
    _, found = run_tasks(app, definition, {"n": 5})
    assert found.status == "FAILED" and found.error == "States.QueryEvaluationError"


def test_wait_seconds_and_timestamp_as_expressions(app):
    # dg/state-wait.html (JSONata): Seconds / Timestamp take an expression (JSONPath's SecondsPath / TimestampPath)
    seconds = {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Output": {"waited": True}}
    assert succeeded(app, single(seconds) | J, {"delay": 0}) == {"waited": True}
    stamp = {"Type": "Wait", "Timestamp": "{% $states.input.at %}"}
    assert succeeded(app, single(stamp) | J, {"at": "2020-01-01T00:00:00Z"}) == {"at": "2020-01-01T00:00:00Z"}
    _, found = run_tasks(app, single(seconds) | J, {"delay": "soon"})
    assert found.error == "States.QueryEvaluationError" and "Seconds" in found.cause


def test_fail_error_and_cause_as_expressions(app):
    # dg/state-fail.html: "Error and Cause ... JSONata" (JSONPath uses ErrorPath / CausePath)
    state = {"Type": "Fail", "Error": "{% $states.input.code %}", "Cause": "{% 'order ' & $states.input.id %}"}
    _, found = run_tasks(app, machine(("F", state), **J), {"code": "Out.Of.Stock", "id": "7"})
    assert (found.status, found.error, found.cause) == ("FAILED", "Out.Of.Stock", "order 7")


def test_map_items_item_selector_and_max_concurrency(app):
    # dg/state-map-inline.html (JSONata): Items replaces ItemsPath; ItemSelector reads $states.context.Map.Item
    state = {
        "Type": "Map",
        "Items": "{% $states.input.orders %}",
        "MaxConcurrency": "{% $states.input.width %}",
        "ItemSelector": {
            "index": "{% $states.context.Map.Item.Index %}",
            "value": "{% $states.context.Map.Item.Value %}",
            "customer": "{% $states.input.customer %}",
        },
        "ItemProcessor": {
            "StartAt": "Price",
            "States": {"Price": {"Type": "Pass", "Output": "{% $states.input.value * 2 %}", "End": True}},
        },
        "Output": {"total": "{% $sum($states.result) %}", "each": "{% $states.result %}"},
    }
    out = succeeded(app, single(state) | J, {"orders": [1, 2, 3], "width": 2, "customer": "c"})
    assert out == {"total": 12, "each": [2, 4, 6]}
    _, found = run_tasks(app, single(state) | J, {"orders": {"not": "an array"}, "width": 1})
    assert found.error == "States.QueryEvaluationError" and "Items" in found.cause


def test_parallel_arguments_and_output(app):
    # dg/state-parallel.html (JSONata): Arguments is each branch's input; $states.result the branches' outputs
    def branch(name: str, add: int) -> dict:
        return {
            "StartAt": name,
            "States": {name: {"Type": "Pass", "Output": f"{{% $states.input.n + {add} %}}", "End": True}},
        }

    state = {
        "Type": "Parallel",
        "Arguments": {"n": "{% $states.input.start %}"},
        "Branches": [branch("B1", 1), branch("B2", 2)],
        "Output": "{% $sum($states.result) %}",
    }
    assert succeeded(app, single(state) | J, {"start": 10}) == 23


def test_catch_output_and_assign_read_states_error_output(app):
    # dg/transforming-data.html: $states.errorOutput "only available in a Catch"; without Output the state
    # output is the error output
    def boom(event):
        raise ValueError("no stock")

    definition = machine(
        (
            "Call",
            {
                "Type": "Task",
                "Resource": "Boom",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Next": "Handled",
                        "Assign": {"problem": "{% $states.errorOutput.Error %}"},
                        "Output": {"why": "{% $states.errorOutput.Cause %}", "in": "{% $states.input.id %}"},
                    }
                ],
                "End": True,
            },
        ),
        (
            "Handled",
            {"Type": "Pass", "Output": {"seen": "{% $states.input %}", "error": "{% $problem %}"}, "End": True},
        ),
        **J,
    )
    out = succeeded(app, definition, {"id": 9}, Boom=boom)
    assert out == {"seen": {"why": "no stock", "in": 9}, "error": "ValueError"}
    plain = machine(
        (
            "Call",
            {"Type": "Task", "Resource": "Boom", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "E"}], "End": True},
        ),
        ("E", {"Type": "Succeed"}),
        **J,
    )
    assert succeeded(app, plain, {}, Boom=boom) == {"Error": "ValueError", "Cause": "no stock"}


def test_timeout_seconds_as_an_expression(app):
    # dg/state-task.html: TimeoutSeconds "can also be a JSONata expression"
    import time

    state = {
        "Type": "Task",
        "Resource": "Slow",
        "TimeoutSeconds": "{% $states.input.limit %}",
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}],
        "Next": "Late",
    }
    definition = machine(("Call", state), ("Late", {"Type": "Pass", "Output": "late", "End": True}), **J)
    assert succeeded(app, definition, {"limit": 1}, Slow=lambda e: time.sleep(3)) == "late"
    _, found = run_tasks(app, definition, {"limit": "one"}, Slow=lambda e: 1)
    assert found.error == "States.QueryEvaluationError" and "TimeoutSeconds" in found.cause


def test_service_integrations_take_their_parameters_from_arguments(app):
    # dg/transforming-data.html: in a JSONata Task, Arguments replaces Parameters (here for the DynamoDB
    # optimized integrations); Output reads the service's result as $states.result
    orders = app.table("orders", key="id")
    item = {"id": {"S": "{% $states.input.id %}"}, "total": {"N": "{% $string($states.input.total) %}"}}
    put = {"TableName": orders.physical_name, "Item": item}
    get = {"TableName": orders.physical_name, "Key": {"id": {"S": "{% $states.input.id %}"}}}
    definition = machine(
        (
            "Put",
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Arguments": put,
                "Output": "{% $states.input %}",
                "Next": "Get",
            },
        ),
        (
            "Get",
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Arguments": get,
                "Output": {"total": "{% $number($states.result.Item.total.N) %}"},
                "End": True,
            },
        ),
        **J,
    )
    assert succeeded(app, definition, {"id": "o-1", "total": 42}) == {"total": 42}
    assert orders.get("o-1") == {"id": "o-1", "total": 42}
    missing = {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "Arguments": {"TableName": "orders"}}
    with pytest.raises(ConfigurationError, match=r"state 'S'.*Key"):
        app.workflow("bad", definition=single(missing) | J)


# -- the functions Step Functions adds ------------------------------------------------------------------
def test_step_functions_jsonata_functions(app):
    # dg/transforming-data.html#jsonata-functions-provided-by-sfn: $partition, $range, $hash, $random, $uuid, $parse
    state = {
        "Type": "Pass",
        "Output": {
            "partition": "{% $partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 4) %}",
            "range": "{% $range(0, 10, 2) %}",
            "hash": "{% $hash('input data', 'SHA-256') %}",
            "seeded": "{% $random(42) = $random(42) %}",
            "unit": "{% $random() < 1 and $random() >= 0 %}",
            "uuid": "{% $uuid() %}",
            "parsed": "{% $parse($states.input.json).k %}",
        },
    }
    out = succeeded(app, single(state) | J, {"json": '{"k": [1, 2]}'})
    assert out["partition"] == [[1, 2, 3, 4], [5, 6, 7, 8], [9]]
    assert out["range"] == [0, 2, 4, 6, 8, 10]
    import hashlib

    assert out["hash"] == hashlib.sha256(b"input data").hexdigest()
    assert out["seeded"] is True and out["unit"] is True
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", out["uuid"])
    assert out["parsed"] == [1, 2]


def test_now_and_millis_follow_stratos_clock(app):
    # docs.jsonata.org/date-time-functions: $now() / $millis(), one timestamp for the whole evaluation
    from strato.core import clock
    from strato.core.clock import VirtualClock

    previous = clock.install(VirtualClock(1_800_000_000.0))
    try:
        state = {
            "Type": "Pass",
            "Output": {"now": "{% $now() %}", "ms": "{% $millis() %}", "day": "{% $now('[Y0001]-[M01]-[D01]') %}"},
        }
        out = succeeded(app, single(state) | J)
    finally:
        clock.install(previous)
    assert out == {"now": "2027-01-15T08:00:00.000Z", "ms": 1_800_000_000_000, "day": "2027-01-15"}


def test_eval_is_not_available(app):
    # dg/transforming-data.html: "$eval is not available—use $parse instead"
    _, found = run_tasks(app, single({"Type": "Pass", "Output": "{% $eval('1 + 1') %}"}) | J)
    assert found.error == "States.QueryEvaluationError" and "$parse" in found.cause


# -- evaluation errors ------------------------------------------------------------------------------------
def test_an_undefined_field_fails_with_query_evaluation_error_and_an_evaluation_failed_event(app):
    # dg/concepts-error-handling.html: States.QueryEvaluationError "a JSONata type error, an incorrectly typed
    # result, or an undefined result"; apireference/API_EvaluationFailedEventDetails.html: state, location
    state = {"Type": "Task", "Resource": "T", "Arguments": {"Input": {"where": "{% $states.input.missing %}"}}}
    wf, found = run_tasks(app, single(state) | J, {}, T=lambda e: e)
    assert found.status == "FAILED" and found.error == "States.QueryEvaluationError"
    # the cause as Step Functions words it (a failed execution's cause seen in the wild)
    assert found.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). The JSONata expression "
        "'$states.input.missing' specified for the field 'Arguments/Input/where' returned nothing (undefined)."
    )
    failed = [e for e in wf.history(found.arn) if e["type"] == "EvaluationFailed"]
    assert failed[0]["evaluationFailedEventDetails"]["state"] == "S"
    assert failed[0]["evaluationFailedEventDetails"]["location"] == "Arguments/Input/where"
    _, typed = run_tasks(app, single({"Type": "Pass", "Output": "{% 'a' + 1 %}"}) | J)
    assert typed.error == "States.QueryEvaluationError"


def test_an_object_constructor_leaves_out_an_undefined_key(app):
    # JSONata 2.0.6 semantics (the version Step Functions implements): {"k": undefined} is {}
    assert succeeded(app, single({"Type": "Pass", "Output": "{% {'k': $states.input.nope} %}"}) | J, {}) == {}


def test_functions_inside_a_value_are_left_out_as_json_serialization_does(app):
    # a regex applied to a string gives a match object with a `next` function; an output has no form for a
    # function (JSON.stringify drops it from an object, writes null in an array)
    state = {"Type": "Pass", "Output": {"m": "{% $states.input.s ~> /W(o)r/ %}", "l": "{% [function($x){$x}, 1] %}"}}
    out = succeeded(app, single(state) | J, {"s": "Hello World"})
    assert set(out["m"]) == {"match", "start", "end", "groups"} and out["m"]["match"] == "Wor"
    assert out["l"] == [None, 1]
    _, found = run_tasks(app, single({"Type": "Pass", "Output": "{% function($x){$x} %}"}) | J)
    assert found.error == "States.QueryEvaluationError"


@pytest.mark.xfail(strict=True, reason="jsonata-python 0.7.1: `str ~> /re/` puts the whole match in groups")
def test_a_regex_match_object_holds_the_capturing_groups(app):
    # docs.jsonata.org/regex: the match object's groups are the capturing groups ($match gets them right)
    state = {
        "Type": "Pass",
        "Output": {
            "m": "{% ($states.input.s ~> /W(o)r/).groups %}",
            "f": "{% $match($states.input.s, /W(o)r/).groups %}",
        },
    }
    assert succeeded(app, single(state) | J, {"s": "Hello World"}) == {"m": ["o"], "f": ["o"]}


def test_query_evaluation_error_is_caught_by_states_all(app):
    # dg/concepts-error-handling.html: States.ALL matches every error but DataLimitExceeded and Runtime
    state = {
        "Type": "Pass",
        "Output": "{% $number('x') + $states.input.nope.nope %}",
        "Next": "Bad",
    }
    task = {
        "Type": "Task",
        "Resource": "T",
        "Arguments": "{% $states.input.missing %}",
        "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}],
        "End": True,
    }
    definition = machine(("Call", task), ("Caught", {"Type": "Pass", "End": True}), ("Bad", state), **J)
    with pytest.raises(ConfigurationError, match="unreachable"):
        app.workflow("unreachable", definition=definition)
    definition = machine(("Call", task), ("Caught", {"Type": "Pass", "End": True}), **J)
    out = succeeded(app, definition, {}, T=lambda e: e)
    assert out["Error"] == "States.QueryEvaluationError"


# -- validation at declaration --------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath"])
def test_jsonpath_only_fields_are_refused_in_a_jsonata_state(app, field):
    # dg/transforming-data.html: the five JSONPath fields are "reduced ... to only two fields: Arguments and Output"
    value = {"a.$": "$.a"} if field in ("Parameters", "ResultSelector") else "$.a"
    with pytest.raises(ConfigurationError, match=rf"state 'S'.*{field}.*JSONPath-only"):
        app.workflow("bad", definition=single({"Type": "Task", "Resource": "T", field: value}) | J)


@pytest.mark.parametrize(("kind", "field"), [("Task", "Arguments"), ("Pass", "Output"), ("Map", "Items")])
def test_jsonata_only_fields_are_refused_in_a_jsonpath_state(app, kind, field):
    extra = {"Resource": "T"} if kind == "Task" else {}
    if kind == "Map":
        extra = {"ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}
    with pytest.raises(ConfigurationError, match=rf"state 'S'.*{field}.*JSONata-only"):
        app.workflow("bad", definition=single({"Type": kind, field: "{% 1 %}", **extra}))


def test_a_jsonpath_state_in_a_jsonata_machine_is_refused(app):
    # dg/transforming-data.html: a JSONPath workflow can convert single states; a JSONata machine cannot hold
    # JSONPath states
    with pytest.raises(ConfigurationError, match=r"state 'S'.*JSONPath is not allowed"):
        app.workflow("bad", definition=single({"Type": "Pass", "QueryLanguage": "JSONPath"}) | J)
    with pytest.raises(ConfigurationError, match="QueryLanguage must be JSONPath or JSONata"):
        app.workflow("bad2", definition=single({"Type": "Pass"}) | {"QueryLanguage": "XPath"})


@pytest.mark.parametrize(
    ("state", "rule"),
    [
        ({"Type": "Pass", "Output": "{% $states.result %}"}, r"\$states.result is available only"),
        ({"Type": "Task", "Resource": "T", "Arguments": "{% $states.result %}"}, r"\$states.result is available only"),
        ({"Type": "Task", "Resource": "T", "Output": "{% $states.errorOutput %}"}, r"\$states.errorOutput"),
        ({"Type": "Pass", "Output": "{% 1 + %}"}, "not a valid JSONata expression"),
        (
            {
                "Type": "Task",
                "Resource": "T",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "S"}],
            },
            "Catch field 'ResultPath' is not allowed in a JSONata state",
        ),
        ({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "E"}]}, "Condition"),
        ({"Type": "Wait", "Seconds": "ten"}, "Seconds must be an integer"),
        ({"Type": "Task", "Resource": "T", "TimeoutSeconds": "soon"}, "TimeoutSeconds must be a positive integer"),
    ],
)
def test_jsonata_states_are_checked_at_declaration(app, state, rule):
    # dg/workflow-variables.html: "Attempting to access $states.result or $states.errorOutput in fields and states
    # where they are not accessible will be caught at creation"
    definition = (
        machine(("S", state), ("E", {"Type": "Succeed"}), **J) if state["Type"] == "Choice" else single(state) | J
    )
    with pytest.raises(ConfigurationError, match=rf"state 'S'.*{rule}"):
        app.workflow("bad", definition=definition)


def test_the_jsonata_library_loads_only_when_a_jsonata_state_needs_it():
    # a JSONPath machine never imports it; inside a Lambda (AWS_LAMBDA_FUNCTION_NAME) a JSONata definition is
    # declared without it (CreateStateMachine checked it at deploy); locally the declaration checks the syntax
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import json, sys, strato; app = strato.App('cold', provider='local', data_dir=sys.argv[1]); "
        "d = {'StartAt': 'S', 'States': {'S': {'Type': 'Pass', 'End': True}}}; "
        "app.workflow('plain', definition=d); plain = 'jsonata' in sys.modules; "
        "app.workflow('j', definition={**d, 'QueryLanguage': 'JSONata', 'States': {'S': {'Type': 'Pass', "
        "'Output': '{% $states.input %}', 'End': True}}}); print(json.dumps([plain, 'jsonata' in sys.modules]))"
    )

    def imported(lambda_env: bool, tmp: str) -> list[bool]:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
        if lambda_env:
            env["AWS_LAMBDA_FUNCTION_NAME"] = "cold"
        out = subprocess.run([sys.executable, "-c", code, tmp], capture_output=True, text=True, timeout=60, env=env)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        assert imported(True, tmp) == [False, False]
        assert imported(False, tmp) == [False, True]


def test_synth_deploys_a_jsonata_definition_as_declared(tmp_path):
    # Step Functions runs JSONata itself: the definition goes to AWS::StepFunctions::StateMachine unchanged
    import json

    from tests.test_workflow_deploy import synth

    source = (
        "import strato\napp = strato.App('flows')\nwf = app.workflow('report', definition={'QueryLanguage': 'JSONata', "
        "'StartAt': 'S', 'States': {'S': {'Type': 'Pass', 'Assign': {'x': 1}, 'Output': '{% $states.input %}', "
        "'End': True}}})\n"
    )
    done = synth(tmp_path, source)
    assert done.returncode == 0, done.stderr
    template = json.loads((tmp_path / "t.json").read_text())
    (machine_,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    properties = machine_["Properties"]
    definition = properties.get("Definition") or json.loads(properties["DefinitionString"])
    assert definition["QueryLanguage"] == "JSONata"
    assert definition["States"]["S"] == {
        "Type": "Pass",
        "Assign": {"x": 1},
        "Output": "{% $states.input %}",
        "End": True,
    }
