"""Input and output processing on the local executor, built from the developer guide's documented examples
(each test cites its page, ``dg/<page>`` = GUIDE + page): InputPath, Parameters, ResultSelector, ResultPath,
OutputPath, the context object and the intrinsic functions."""

from __future__ import annotations

import pytest

from tests.workflows import machine, run, single

GUIDE = "https://docs.aws.amazon.com/step-functions/latest/dg"


@pytest.fixture
def app(make_app):
    return make_app("local")


def pass_output(app, state, given):
    wf = app.workflow(f"w{len(app.resources)}", definition=single({"Type": "Pass", **state}))
    found = run(app, wf, given)
    assert found.status == "SUCCEEDED", (found.error, found.cause)
    return found.output


RESULTPATH_INPUT = {"comment": "This is a test", "details": "Default example", "who": "Step Functions"}


def test_resultpath_default_replaces_the_input(app):
    # dg/input-output-resultpath.html#input-output-resultpath-default
    assert pass_output(app, {"Result": "Hello, Step Functions!"}, RESULTPATH_INPUT) == "Hello, Step Functions!"


def test_resultpath_null_keeps_the_original_input(app):
    # dg/input-output-resultpath.html#input-output-resultpath-null
    out = pass_output(app, {"Result": "Hello, Step Functions!", "ResultPath": None}, RESULTPATH_INPUT)
    assert out == RESULTPATH_INPUT


def test_resultpath_appends_the_result_to_the_input(app):
    # dg/input-output-resultpath.html#input-output-resultpath-append
    out = pass_output(app, {"Result": "Hello, Step Functions!", "ResultPath": "$.taskresult"}, RESULTPATH_INPUT)
    assert out == {**RESULTPATH_INPUT, "taskresult": "Hello, Step Functions!"}


def test_resultpath_updates_a_node_and_creates_missing_ones(app):
    # dg/input-output-resultpath.html#input-output-resultpath-amend
    given = {"master": {"detail": [1, 2, 3]}}
    out = pass_output(app, {"Result": 6, "ResultPath": "$.master.detail"}, given)
    assert out == {"master": {"detail": 6}}
    assert pass_output(app, {"Result": 1, "ResultPath": "$.a.b.c"}, {}) == {"a": {"b": {"c": 1}}}


def test_inputpath_parameters_and_outputpath_in_order(app):
    # dg/input-output-example.html: InputPath $.lambda, Parameters, OutputPath
    given = {
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"},
    }
    out = pass_output(
        app,
        {
            "InputPath": "$.dataset2",
            "Parameters": {"x.$": "$.val1", "static": "s"},
            "ResultPath": "$.picked",
            "OutputPath": "$.picked",
        },
        given,
    )
    assert out == {"x": "a", "static": "s"}


def test_inputpath_null_gives_an_empty_object_and_outputpath_null_too(app):
    # dg/input-output-inputpath-params.html: "If InputPath is null ... the input is {}"
    assert pass_output(app, {"InputPath": None}, {"a": 1}) == {}
    assert pass_output(app, {"OutputPath": None}, {"a": 1}) == {}


def test_parameters_with_paths_and_nested_templates(app):
    # dg/input-output-inputpath-params.html#input-output-parameters
    given = {
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
        },
    }
    state = {
        "Parameters": {
            "comment": "Selecting what I care about.",
            "MyDetails": {
                "size.$": "$.product.details.size",
                "exists.$": "$.product.availability",
                "StaticValue": "foo",
            },
        }
    }
    assert pass_output(app, state, given) == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def test_result_selector_shapes_a_task_result(app):
    # dg/input-output-inputpath-params.html#input-output-resultselector
    wf = app.workflow(
        "w",
        definition=single(
            {
                "Type": "Task",
                "Resource": "Cluster",
                "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
                "ResultPath": "$.EMROutput",
            }
        ),
    )
    wf.task("Cluster")(
        lambda e: {
            "resourceType": "elasticmapreduce",
            "resource": "createCluster.sync",
            "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "ClusterId": "AKIAIOSFODNN7"},
        }
    )
    found = run(app, wf, {"Name": "MyWorkflowCluster"})
    assert found.output == {
        "Name": "MyWorkflowCluster",
        "EMROutput": {"ClusterId": "AKIAIOSFODNN7", "ResourceType": "elasticmapreduce"},
    }


def test_jsonpath_indefinite_paths_return_lists(app):
    # dg/amazon-states-language-paths.html: unions, wildcards, slices, filters give arrays
    given = {"stores": [{"n": "a", "p": 5}, {"n": "b", "p": 15}, {"n": "c", "p": 25}]}
    state = {
        "Parameters": {
            "all.$": "$.stores[*].n",
            "cheap.$": "$.stores[?(@.p < 20)].n",
            "slice.$": "$.stores[1:].n",
            "union.$": "$.stores[0,2].n",
            "deep.$": "$..p",
            "last.$": "$.stores[-1].n",
        }
    }
    assert pass_output(app, state, given) == {
        "all": ["a", "b", "c"],
        "cheap": ["a", "b"],
        "slice": ["b", "c"],
        "union": ["a", "c"],
        "deep": [5, 15, 25],
        "last": "c",
    }


def test_context_object_fields(app):
    # dg/input-output-contextobject.html
    wf = app.workflow(
        "w",
        definition=single(
            {
                "Type": "Pass",
                "Parameters": {
                    "id.$": "$$.Execution.Id",
                    "name.$": "$$.Execution.Name",
                    "state.$": "$$.State.Name",
                    "machine.$": "$$.StateMachine.Name",
                    "input.$": "$$.Execution.Input",
                },
            }
        ),
    )
    found = run(app, wf, {"x": 1}, name="run-1")
    assert found.output == {"id": found.arn, "name": "run-1", "state": "S", "machine": "w", "input": {"x": 1}}


def test_map_item_selector_reads_the_context_item(app):
    # dg/input-output-itemselector.html
    wf = app.workflow(
        "w",
        definition=single(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "extra.$": "$.extra"},
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            }
        ),
    )
    found = run(app, wf, {"items": ["a", "b"], "extra": 7})
    assert found.output == [{"index": 0, "value": "a", "extra": 7}, {"index": 1, "value": "b", "extra": 7}]


INTRINSICS = [  # dg/intrinsic-functions.html: each function's documented example
    ("States.Format('Hello, my name is {}.', $.name)", {"name": "Arnav"}, "Hello, my name is Arnav."),
    ("States.StringToJson($.someString)", {"someString": '{"number": 20}'}, {"number": 20}),
    ("States.JsonToString($.someJson)", {"someJson": {"name": "Foo", "year": 2020}}, '{"name":"Foo","year":2020}'),
    ("States.Array('Foo', 2020, $.unique)", {"unique": 1}, ["Foo", 2020, 1]),
    (
        "States.ArrayPartition($.inputArray, 4)",
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
    ),
    ("States.ArrayContains($.inputArray, $.lookingFor)", {"inputArray": [1, 2, 3], "lookingFor": 5}, False),
    ("States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9]),
    ("States.ArrayGetItem($.inputArray, $.index)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}, 6),
    ("States.ArrayLength($.inputArray)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, 9),
    ("States.ArrayUnique($.inputArray)", {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}, [1, 2, 3, 4]),
    ("States.Base64Encode($.input)", {"input": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
    ("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
    (
        "States.Hash($.Data, $.Algorithm)",
        {"Data": "input data", "Algorithm": "SHA-1"},
        "aaff4a450a104cd177d28d18d74485e8cae074b7",
    ),
    (
        "States.JsonMerge($.json1, $.json2, false)",
        {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}},
        {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
    ),
    ("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110),
    (
        "States.StringSplit($.inputString, $.splitter)",
        {"inputString": "1,2,3,4,5", "splitter": ","},
        ["1", "2", "3", "4", "5"],
    ),
    (
        "States.StringSplit($.inputString, $.splitter)",
        {"inputString": "This.is+a,test=string", "splitter": ".+,="},
        ["This", "is", "a", "test", "string"],
    ),
    ("States.Format('{} \\'quoted\\' \\{\\}', $.n)", {"n": 3}, "3 'quoted' {}"),
]


@pytest.mark.parametrize(("call", "given", "expected"), INTRINSICS, ids=[c[0].split("(")[0] for c in INTRINSICS])
def test_intrinsic_functions(app, call, given, expected):
    assert pass_output(app, {"Parameters": {"out.$": call}}, given) == {"out": expected}


def test_math_random_and_uuid(app):
    out = pass_output(
        app,
        {
            "Parameters": {
                "r.$": "States.MathRandom($.start, $.end)",
                "u.$": "States.UUID()",
                "seeded.$": "States.MathRandom(1, 999, 7)",
            }
        },
        {"start": 1, "end": 3},
    )
    assert out["r"] in (1, 2) and len(out["u"]) == 36
    again = pass_output(app, {"Parameters": {"seeded.$": "States.MathRandom(1, 999, 7)"}}, {})
    assert again["seeded"] == out["seeded"]


@pytest.mark.parametrize(
    "call",
    [
        "States.ArrayGetItem($.a, 10)",
        "States.MathAdd($.a, 1)",
        "States.Format('{} {}', 1)",
        "States.ArrayPartition($.a, 0)",
        "States.JsonMerge($.a, $.a, true)",
        "States.Hash('x', 'SHA-2')",
        "States.StringToJson('{not json')",
        "States.ArrayLength(1, 2)",
    ],
)
def test_intrinsic_with_wrong_arguments_fails_with_states_runtime(app, call):
    # dg/concepts-error-handling.html: intrinsic processing errors are reported as States.Runtime
    wf = app.workflow("w", definition=single({"Type": "Pass", "Parameters": {"out.$": call}}))
    found = run(app, wf, {"a": [1, 2]})
    assert (found.status, found.error) == ("FAILED", "States.Runtime")


def test_a_path_that_selects_nothing_is_states_runtime(app):
    wf = app.workflow("w", definition=single({"Type": "Pass", "InputPath": "$.missing"}))
    found = run(app, wf, {"a": 1})
    assert (found.status, found.error) == ("FAILED", "States.Runtime")
    assert "$.missing" in found.cause


def test_an_output_over_256_kb_is_data_limit_exceeded_and_states_all_does_not_catch_it(app):
    # dg/concepts-error-handling.html#error-data-limit-exceed
    definition = machine(
        (
            "Big",
            {
                "Type": "Task",
                "Resource": "Big",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
        ),
        ("Caught", {"Type": "Succeed"}),
    )
    wf = app.workflow("w", definition=definition)
    wf.task("Big")(lambda e: "x" * (256 * 1024 + 1))
    found = run(app, wf, {})
    assert (found.status, found.error) == ("FAILED", "States.DataLimitExceeded")


def test_an_input_over_256_kb_is_refused_at_start(app):
    from strato.core.errors import ValidationError

    wf = app.workflow("w", definition=single({"Type": "Pass"}))
    with pytest.raises(ValidationError, match="DataLimitExceeded"):
        wf.start({"x": "y" * (256 * 1024)})
