"""Definitions Step Functions would refuse are refused at declaration (``app.workflow(...)``) with a
ConfigurationError naming the state and the rule; definitions from files (.json / .yaml) load."""

from __future__ import annotations

import json

import pytest

from strato.core.errors import ConfigurationError
from tests.workflows import machine, run, single

OK_TASK = {"Type": "Task", "Resource": "T"}


@pytest.fixture
def app(make_app):
    return make_app("local")


BAD = [
    ("unknown field", single({"Type": "Pass", "Resul": 1}), "'S'.*field 'Resul' is not allowed"),
    ("unknown type", single({"Type": "Lambda"}), "'S'.*unknown Type"),
    ("missing Next", machine(("A", {"Type": "Pass"})), "'A'.*exactly one of Next and End"),
    ("Next and End", machine(("A", {"Type": "Pass", "Next": "A", "End": True})), "'A'.*exactly one of Next"),
    ("unknown Next", machine(("A", {"Type": "Pass", "Next": "Nowhere"})), "'A'.*Next 'Nowhere' is not a state"),
    (
        "unreachable",
        machine(("A", {"Type": "Pass", "End": True}), ("B", {"Type": "Pass", "End": True})),
        "'B' is unreachable",
    ),
    (
        "no terminal",
        machine(("A", {"Type": "Pass", "Next": "B"}), ("B", {"Type": "Pass", "Next": "A"})),
        "no terminal state",
    ),
    ("bad StartAt", {"StartAt": "X", "States": {"A": {"Type": "Succeed"}}}, "StartAt 'X'"),
    ("top-level field", {**single({"Type": "Succeed"}), "Start": 1}, "unknown field 'Start'"),
    ("Next on Succeed", machine(("A", {"Type": "Succeed", "Next": "A"})), "'A'.*'Next' is not allowed"),
    ("Choice without Choices", machine(("C", {"Type": "Choice", "Choices": []})), "'C'.*non-empty Choices"),
    (
        "Choice rule without Next",
        machine(
            ("C", {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True}], "Default": "D"}),
            ("D", {"Type": "Succeed"}),
        ),
        "'C'.*has no Next",
    ),
    (
        "two operators",
        machine(
            ("C", {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "IsString": True, "Next": "D"}]}),
            ("D", {"Type": "Succeed"}),
        ),
        "'C'.*exactly one comparison operator",
    ),
    (
        "wrong operand type",
        machine(
            ("C", {"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": "1", "Next": "D"}]}),
            ("D", {"Type": "Succeed"}),
        ),
        "'C'.*NumericEquals cannot take '1'",
    ),
    (
        "nested Next",
        machine(
            (
                "C",
                {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.a", "IsNull": True, "Next": "D"}, "Next": "D"}]},
            ),
            ("D", {"Type": "Succeed"}),
        ),
        "'C'.*Next is allowed only on a top-level rule",
    ),
    (
        "Wait with two times",
        single({"Type": "Wait", "Seconds": 1, "Timestamp": "2026-01-01T00:00:00Z"}),
        "'S'.*exactly one of Seconds",
    ),
    ("bad timestamp", single({"Type": "Wait", "Timestamp": "tomorrow"}), "'S'.*not an RFC 3339"),
    (
        "Error and ErrorPath",
        machine(("F", {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})),
        "'F'.*Error and ErrorPath",
    ),
    ("Task without Resource", single({"Type": "Task"}), "'S'.*needs a Resource"),
    (
        "heartbeat over timeout",
        single({**OK_TASK, "TimeoutSeconds": 5, "HeartbeatSeconds": 10}),
        "'S'.*HeartbeatSeconds must be smaller",
    ),
    (
        "States.ALL not last",
        single({**OK_TASK, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}),
        "'S'.*States.ALL must appear",
    ),
    (
        "States.ALL with others",
        single({**OK_TASK, "Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}),
        "'S'.*States.ALL must appear alone",
    ),
    ("empty ErrorEquals", single({**OK_TASK, "Retry": [{"ErrorEquals": []}]}), "'S'.*non-empty ErrorEquals"),
    (
        "BackoffRate below 1",
        single({**OK_TASK, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}),
        "'S'.*BackoffRate",
    ),
    (
        "bad JitterStrategy",
        single({**OK_TASK, "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]}),
        "'S'.*JitterStrategy",
    ),
    ("Catch without Next", single({**OK_TASK, "Catch": [{"ErrorEquals": ["X"]}]}), "'S'.*every Catch needs a Next"),
    (
        "ResultPath not a reference path",
        single({"Type": "Pass", "ResultPath": "$.a[*]"}),
        "'S'.*ResultPath '\\$.a\\[\\*\\]' must be a reference path",
    ),
    ("bad JSONPath", single({"Type": "Pass", "InputPath": "a.b"}), "'S'.*InputPath 'a.b' is not a JSONPath"),
    (
        "unknown intrinsic",
        single({"Type": "Pass", "Parameters": {"x.$": "States.Nope(1)"}}),
        "'S'.*States.Nope is not an intrinsic",
    ),
    ("Parallel without branches", single({"Type": "Parallel", "Branches": []}), "'S'.*non-empty Branches"),
    (
        "Next across a branch",
        machine(
            (
                "P",
                {
                    "Type": "Parallel",
                    "Next": "Out",
                    "Branches": [{"StartAt": "In", "States": {"In": {"Type": "Pass", "Next": "Out"}}}],
                },
            ),
            ("Out", {"Type": "Succeed"}),
        ),
        "'In'.*Next 'Out' is not a state of its scope",
    ),
    (
        "duplicate names",
        machine(
            (
                "P",
                {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}]},
            )
        ),
        "'P'.*unique",
    ),
    ("Map without processor", single({"Type": "Map"}), "'S'.*needs an ItemProcessor"),
    (
        "bad tolerance",
        single(
            {
                "Type": "Map",
                "ToleratedFailurePercentage": 101,
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
            }
        ),
        "'S'.*ToleratedFailurePercentage",
    ),
    ("name too long", machine(("N" * 81, {"Type": "Succeed"})), "1 to 80 characters"),
]


@pytest.mark.parametrize(("definition", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_refused_at_declaration_naming_the_state_and_the_rule(app, definition, message):
    with pytest.raises(ConfigurationError, match=message):
        app.workflow("bad", definition=definition)


def test_a_task_without_a_handler_is_refused_at_start(app):
    wf = app.workflow("w", definition=single(OK_TASK))
    with pytest.raises(ConfigurationError, match="no task handler 'T'"):
        wf.start({})


def test_app_wide_tasks_and_substitution_names(app):
    wf = app.workflow("w", definition=single({"Type": "Task", "Resource": "${Shout}"}))

    @app.task("Shout")
    def shout(event):
        return event["text"].upper()

    assert run(app, wf, {"text": "hi"}).output == "HI"


def test_definitions_load_from_json_and_yaml_files(app, tmp_path):
    (tmp_path / "m.json").write_text(json.dumps(single({"Type": "Pass", "Result": "json"})))
    (tmp_path / "m.yaml").write_text("StartAt: S\nStates:\n  S:\n    Type: Pass\n    Result: yaml\n    End: true\n")
    assert run(app, app.workflow("j", definition=tmp_path / "m.json")).output == "json"
    assert run(app, app.workflow("y", definition=str(tmp_path / "m.yaml"))).output == "yaml"
    with pytest.raises(ConfigurationError, match="does not exist"):
        app.workflow("missing", definition=tmp_path / "nope.json")


def test_type_must_be_standard_or_express(app):
    with pytest.raises(ConfigurationError, match="STANDARD or EXPRESS"):
        app.workflow("w", definition=single({"Type": "Succeed"}), type="FAST")
