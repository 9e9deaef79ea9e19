"""A workflow app for the variables durability test: variables assigned before, inside and after a Map whose
iterations take a while, so that a worker killed mid-Map leaves variables in every scope."""

import time

import strato

app = strato.App("wfvars")
scaled = app.workflow(
    "scaled",
    definition={
        "QueryLanguage": "JSONata",
        "StartAt": "Remember",
        "States": {
            "Remember": {
                "Type": "Pass",
                "Assign": {"factor": "{% $states.input.factor %}", "label": "run"},
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "MaxConcurrency": 8,
                "ItemProcessor": {
                    "StartAt": "Scale",
                    "States": {
                        "Scale": {
                            "Type": "Task",
                            "Resource": "Scale",
                            "Arguments": {"n": "{% $states.input %}", "factor": "{% $factor %}"},
                            "Assign": {"mine": "{% $states.result %}"},
                            "Next": "Label",
                        },
                        "Label": {"Type": "Pass", "Output": {"n": "{% $mine %}", "by": "{% $label %}"}, "End": True},
                    },
                },
                "Assign": {"count": "{% $count($states.result) %}"},
                "Next": "Report",
            },
            "Report": {
                "Type": "Pass",
                "Output": {"factor": "{% $factor %}", "count": "{% $count %}", "each": "{% $states.input %}"},
                "End": True,
            },
        },
    },
)


@scaled.task("Scale")
def scale(event):
    time.sleep(0.01)  # work that takes a moment, so that a kill lands mid-Map
    return event["n"] * event["factor"]
