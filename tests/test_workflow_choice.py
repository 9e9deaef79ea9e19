"""Choice rules on the local executor: every comparison operator and its Path variant, And / Or / Not, the
Is* tests and StringMatches, per https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html."""

from __future__ import annotations

import pytest

from tests.workflows import machine, run


@pytest.fixture
def app(make_app):
    return make_app("local")


def picks(app, rule, given):
    """Whether ``rule`` matches ``given`` (True: Yes, False: the Default)."""
    wf = app.workflow(
        f"c{len(app.resources)}",
        definition=machine(
            ("C", {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No"}),
            ("Yes", {"Type": "Pass", "Result": True, "End": True}),
            ("No", {"Type": "Pass", "Result": False, "End": True}),
        ),
    )
    found = run(app, wf, given)
    assert found.status == "SUCCEEDED", (found.error, found.cause)
    return found.output


TS = "2026-01-01T00:00:00Z"
CASES = [
    ({"StringEquals": "a"}, "a", True),
    ({"StringEquals": "a"}, "b", False),
    ({"StringEquals": "1"}, 1, False),
    ({"StringLessThan": "b"}, "a", True),
    ({"StringGreaterThan": "b"}, "c", True),
    ({"StringLessThanEquals": "a"}, "a", True),
    ({"StringGreaterThanEquals": "b"}, "a", False),
    ({"NumericEquals": 1}, 1.0, True),
    ({"NumericEquals": 1}, "1", False),
    ({"NumericLessThan": 2}, 1, True),
    ({"NumericGreaterThan": 2}, 3, True),
    ({"NumericLessThanEquals": 2}, 2, True),
    ({"NumericGreaterThanEquals": 2}, 1.5, False),
    ({"NumericEquals": 1}, True, False),
    ({"BooleanEquals": True}, True, True),
    ({"BooleanEquals": True}, 1, False),
    ({"TimestampEquals": TS}, "2026-01-01T00:00:00+00:00", True),
    ({"TimestampLessThan": TS}, "2025-12-31T23:59:59Z", True),
    ({"TimestampGreaterThan": TS}, "2026-01-01T00:00:01Z", True),
    ({"TimestampLessThanEquals": TS}, TS, True),
    ({"TimestampGreaterThanEquals": TS}, "2025-01-01T00:00:00Z", False),
    ({"TimestampEquals": TS}, "2026-01-01t00:00:00z", False),  # lowercase t/z is not a Step Functions timestamp
    ({"StringMatches": "log-*.txt"}, "log-2026.txt", True),
    ({"StringMatches": "log-*.txt"}, "log.txt", False),
    ({"StringMatches": "a\\*b"}, "a*b", True),
    ({"StringMatches": "a\\*b"}, "axb", False),
    ({"IsNull": True}, None, True),
    ({"IsNull": False}, 0, True),
    ({"IsNumeric": True}, 1.5, True),
    ({"IsNumeric": True}, "1", False),
    ({"IsString": True}, "x", True),
    ({"IsBoolean": True}, False, True),
    ({"IsTimestamp": True}, TS, True),
    ({"IsTimestamp": True}, "2026-01-01", False),
]


@pytest.mark.parametrize(
    ("operator", "value", "expected"), CASES, ids=[f"{next(iter(c[0]))}-{i}" for i, c in enumerate(CASES)]
)
def test_each_operator(app, operator, value, expected):
    assert picks(app, {"Variable": "$.v", **operator}, {"v": value}) is expected


PATH_CASES = [
    ("StringEqualsPath", "a", "a", True),
    ("StringLessThanPath", "a", "b", True),
    ("StringGreaterThanPath", "a", "b", False),
    ("StringLessThanEqualsPath", "b", "b", True),
    ("StringGreaterThanEqualsPath", "c", "b", True),
    ("NumericEqualsPath", 2, 2, True),
    ("NumericLessThanPath", 1, 2, True),
    ("NumericGreaterThanPath", 1, 2, False),
    ("NumericLessThanEqualsPath", 3, 2, False),
    ("NumericGreaterThanEqualsPath", 2, 2, True),
    ("BooleanEqualsPath", False, False, True),
    ("TimestampEqualsPath", TS, TS, True),
    ("TimestampLessThanPath", "2025-01-01T00:00:00Z", TS, True),
    ("TimestampGreaterThanPath", "2025-01-01T00:00:00Z", TS, False),
    ("TimestampLessThanEqualsPath", TS, TS, True),
    ("TimestampGreaterThanEqualsPath", TS, TS, True),
]


@pytest.mark.parametrize(("operator", "value", "other", "expected"), PATH_CASES, ids=[c[0] for c in PATH_CASES])
def test_each_path_variant_compares_against_another_field(app, operator, value, other, expected):
    assert picks(app, {"Variable": "$.v", operator: "$.other"}, {"v": value, "other": other}) is expected


def test_is_present_is_the_only_test_on_a_missing_field(app):
    assert picks(app, {"Variable": "$.missing", "IsPresent": False}, {}) is True
    assert picks(app, {"Variable": "$.v", "IsPresent": True}, {"v": None}) is True


def test_a_missing_variable_fails_with_states_runtime(app):
    wf = app.workflow(
        "m",
        definition=machine(
            (
                "C",
                {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.missing", "NumericEquals": 1, "Next": "D"}],
                    "Default": "D",
                },
            ),
            ("D", {"Type": "Succeed"}),
        ),
    )
    found = run(app, wf, {})
    assert (found.status, found.error) == ("FAILED", "States.Runtime")


def test_and_or_not(app):
    rule = {
        "And": [
            {"Variable": "$.n", "NumericGreaterThanEquals": 20},
            {"Or": [{"Variable": "$.t", "StringEquals": "x"}, {"Not": {"Variable": "$.t", "StringMatches": "y*"}}]},
        ]
    }
    assert picks(app, rule, {"n": 20, "t": "x"}) is True
    assert picks(app, rule, {"n": 20, "t": "yes"}) is False
    assert picks(app, rule, {"n": 20, "t": "no"}) is True
    assert picks(app, rule, {"n": 19, "t": "x"}) is False


def test_the_first_matching_rule_wins_and_no_match_without_default_is_states_runtime(app):
    # state-choice.html: "Step Functions examines each of the Choice Rules in the order listed"; with no match
    # and no Default, concepts-error-handling.html reports States.NoChoiceMatched as States.Runtime
    wf = app.workflow(
        "order",
        definition=machine(
            (
                "C",
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "A"},
                        {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "B"},
                    ],
                },
            ),
            ("A", {"Type": "Pass", "Result": "A", "End": True}),
            ("B", {"Type": "Pass", "Result": "B", "End": True}),
        ),
    )
    assert run(app, wf, {"n": 5}).output == "A"
    assert run(app, wf, {"n": 1}).output == "B"
    found = run(app, wf, {"n": 0})
    assert (found.status, found.error) == ("FAILED", "States.Runtime")


def test_choice_passes_its_input_through_inputpath_and_outputpath(app):
    wf = app.workflow(
        "io",
        definition=machine(
            (
                "C",
                {
                    "Type": "Choice",
                    "InputPath": "$.a",
                    "OutputPath": "$.b",
                    "Choices": [{"Variable": "$.b", "IsPresent": True, "Next": "D"}],
                },
            ),
            ("D", {"Type": "Succeed"}),
        ),
    )
    assert run(app, wf, {"a": {"b": {"c": 1}}}).output == {"c": 1}
