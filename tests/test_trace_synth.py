"""Tracing on AWS: synth turns X-Ray active tracing on for every function and gives its role the X-Ray
write actions; API Gateway v2 stages (HTTP and WebSocket APIs) get no tracing setting, as X-Ray traces
only REST APIs; boto3 calls made inside a trace carry its X-Amzn-Trace-Id."""

from __future__ import annotations

import pytest

from strato.trace import Tracer, install
from tests.test_synth import APPS, resources, synth_file


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return synth_file(APPS[0], tmp_path_factory.mktemp("trace-synth") / "t.json")


def test_every_function_traces_actively(template):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-tracingconfig.html
    functions = resources(template, "AWS::Lambda::Function")
    assert functions and all(f["Properties"]["TracingConfig"] == {"Mode": "Active"} for f in functions.values())


def test_every_function_role_may_write_traces(template):
    # "If it doesn't [have them], add the AWSXRayDaemonWriteAccess policy to the execution role":
    # https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
    for name, function in resources(template, "AWS::Lambda::Function").items():
        role = template["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
        found = [
            s
            for p in role["Properties"]["Policies"]
            for s in p["PolicyDocument"]["Statement"]
            if s.get("Sid") == "XRayTraces"
        ]
        assert len(found) == 1, name
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= set(found[0]["Action"])


def test_http_and_websocket_api_stages_have_no_tracing_setting(template):
    # "X-Ray only supports tracing for REST APIs through API Gateway":
    # https://docs.aws.amazon.com/xray/latest/devguide/xray-services-apigateway.html
    stages = resources(template, "AWS::ApiGatewayV2::Stage")
    assert stages and not any("Tracing" in key for s in stages.values() for key in s["Properties"])


def test_boto3_calls_inside_a_trace_carry_its_header(make_app, moto_server):
    import botocore.awsrequest

    app = make_app("aws")
    jobs = app.queue("jobs")
    jobs.stats()  # the client exists
    client = jobs.backend.client
    seen = []

    def capture(request: botocore.awsrequest.AWSPreparedRequest, **_):
        seen.append(request.headers.get("X-Amzn-Trace-Id"))

    client.meta.events.register("before-send.sqs.*", capture)
    try:
        jobs.stats()
        tracer = Tracer([])
        previous = install(tracer)
        try:
            with tracer.span("http", "http", "GET /") as active:
                jobs.stats()
        finally:
            install(previous)
    finally:
        client.meta.events.unregister("before-send.sqs.*", capture)
    header = seen[-1].decode() if isinstance(seen[-1], bytes) else seen[-1]
    assert seen[0] is None and header == active.header
