"""Production settings in the template: per-function memory, timeout, architecture, concurrency, provisioned
concurrency with Application Auto Scaling, environment, layers, log retention; tags; default alarms. Each
checked against the limits AWS documents (URLs beside the assertions), and the template is cfn-lint clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import strato
from strato import Provisioned, function
from strato.core.errors import ConfigurationError
from strato.deploy.synth import synth
from tests.cfn import assert_lint_clean
from tests.test_synth import resources, synth_file

APP = "tests/apps/production_app.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return synth_file(APP, tmp_path_factory.mktemp("prod") / "t.json", stage="prod")


def props(template, logical_id):
    return template["Resources"][logical_id]["Properties"]


def test_the_production_template_passes_cfn_lint(template, tmp_path):
    assert_lint_clean(template, tmp_path)


def test_each_function_gets_its_declared_settings(template):
    http = props(template, "HttpFunction")
    assert (http["MemorySize"], http["ReservedConcurrentExecutions"], http["Architectures"]) == (1536, 10, ["arm64"])
    ws = props(template, "WsLiveFunction")
    assert (ws["MemorySize"], ws["Timeout"]) == (256, 20)
    work = props(template, "QueueJobsFunction")
    assert (work["MemorySize"], work["Timeout"], work["ReservedConcurrentExecutions"]) == (2048, 240, 20)
    assert work["Layers"] == ["arn:aws:lambda:us-east-1:123456789012:layer:bot-connector:7"]
    assert work["Environment"]["Variables"]["MODEL"] == "small"
    assert work["Environment"]["Variables"]["STRATO_PROVIDER"] == "aws"  # strato's own stay
    assert props(template, "BucketFilesFunction")["MemorySize"] == 3008
    hourly = props(template, "ScheduleHourlyFunction")
    assert (hourly["Timeout"], hourly["Architectures"]) == (900, ["x86_64"])
    assert props(template, "StreamOrdersChangedFunction")["Timeout"] == 600
    notify = props(template, "TopicEventsNotifyFunction")
    assert notify["MemorySize"] == 256 and "ReservedConcurrentExecutions" not in notify


def test_log_groups_keep_the_app_default_or_the_function_s_retention(template):
    assert props(template, "TopicEventsNotifyFunctionLogs")["RetentionInDays"] == 365
    assert props(template, "QueueJobsFunctionLogs")["RetentionInDays"] == 60  # app.functions(log_retention_days=60)
    assert props(template, "HttpFunctionLogs")["LogGroupName"] == "/aws/lambda/prodapp-prod-http"


def test_provisioned_concurrency_is_an_alias_with_application_auto_scaling(template):
    # https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-lambda.html
    r = template["Resources"]
    alias = props(template, "HttpFunctionAlias")
    assert alias["Name"] == "live" and alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 5}
    assert alias["FunctionVersion"] == {"Fn::GetAtt": ["HttpFunctionVersion", "Version"]}
    version = props(template, "HttpFunctionVersion")
    assert "${CodeKey}" in version["Description"]["Fn::Sub"]  # a new code key publishes a new version
    target = props(template, "HttpFunctionScalableTarget")
    assert target == {
        "ServiceNamespace": "lambda",
        "ScalableDimension": "lambda:function:ProvisionedConcurrency",
        "ResourceId": {"Fn::Sub": "function:${HttpFunction}:live"},
        "MinCapacity": 5,
        "MaxCapacity": 10,
    }
    policy = props(template, "HttpFunctionScalingPolicy")["TargetTrackingScalingPolicyConfiguration"]
    assert policy["TargetValue"] == 0.7
    assert policy["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"
    }
    # the triggers invoke the alias: provisioned environments serve only the alias's invocations
    assert props(template, "HttpIntegration")["IntegrationUri"] == {"Ref": "HttpFunctionAlias"}
    assert props(template, "HttpInvokePermission")["FunctionName"] == {"Ref": "HttpFunctionAlias"}
    assert props(template, "StreamOrdersChangedFunctionEventSource")["FunctionName"] == {
        "Ref": "StreamOrdersChangedFunctionAlias"
    }
    fixed = props(template, "StreamOrdersChangedFunctionAlias")["ProvisionedConcurrencyConfig"]
    assert fixed == {"ProvisionedConcurrentExecutions": 2} and "StreamOrdersChangedFunctionScalableTarget" not in r
    assert props(template, "JobsQueueEventSource")["FunctionName"] == {"Ref": "QueueJobsFunction"}  # no alias


def test_every_taggable_resource_carries_the_app_tags_and_the_stage(template):
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    wanted = {"Application": "analytics", "CostCenter": "cc-42", "Owner": "data@example.com", "Environment": "prod"}
    checked = 0
    for logical_id, resource in template["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource["Type"]).schema
        tagging = schema.get("tagging", {})
        prop = (tagging.get("tagProperty") or "/properties/Tags").rsplit("/", 1)[-1]
        if not tagging.get("taggable") or prop not in schema.get("properties", {}):
            continue
        tags = resource["Properties"].get(prop)
        found = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags or []}
        assert wanted.items() <= found.items(), logical_id
        checked += 1
    assert checked > 20


def test_default_alarms_notify_the_alerts_topic(template):
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlertsTopic"}] for a in alarms.values())
    dlq = props(template, "DlqJobsDlqHasMessagesAlarm")
    assert (dlq["MetricName"], dlq["Threshold"], dlq["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0.0,
        "GreaterThanThreshold",
    )
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsDlqQueue", "QueueName"]}}]
    assert props(template, "QueueJobsDepthAlarm")["Threshold"] == 100.0
    assert props(template, "QueueJobsAgeAlarm")["MetricName"] == "ApproximateAgeOfOldestMessage"
    rate = props(template, "HttpFunctionErrorRateAlarm")
    assert [m["Id"] for m in rate["Metrics"]] == ["errors", "invocations", "rate"] and rate["Threshold"] == 5.0
    assert "TopicEventsNotifyFunctionErrorRateAlarm" not in alarms  # @function(alarms=False)
    ws = props(template, "LiveWebSocketApiErrorsAlarm")
    assert {m.get("MetricStat", {}).get("Metric", {}).get("MetricName") for m in ws["Metrics"]} >= {
        "IntegrationError",
        "ExecutionError",
    }
    # billing metrics live in us-east-1 only: the alarm is conditional on the stack's region
    billing = template["Resources"]["BillingAlarm"]
    assert billing["Condition"] == "BillingMetricsHere" and billing["Properties"]["Threshold"] == 250.0
    assert template["Conditions"]["BillingMetricsHere"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def test_alarms_can_be_turned_off(make_app):
    app = make_app("local")
    app.queue("jobs", max_receive_count=2)
    app.alarms(enabled=False)
    assert not resources(synth(app), "AWS::CloudWatch::Alarm")


# -- limits -------------------------------------------------------------------------------------------
# Lambda quotas: memory 128-10,240 MB, timeout 900 s, 5 layers, 4 KB of environment variables
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
# Reserved concurrency: up to the account's unreserved concurrency minus 100
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
# CloudWatch Logs retention values: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
@pytest.mark.parametrize(
    "settings, message",
    [
        ({"memory": 64}, "memory is 128 to 10,240 MB"),
        ({"memory": 10_241}, "memory is 128 to 10,240 MB"),
        ({"timeout": 901}, "timeout is 1 to 900"),
        ({"timeout": 0}, "timeout is 1 to 900"),
        ({"layers": [f"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1" for i in range(6)]}, "at most 5 layers"),
        ({"layers": ["bot-connector"]}, "not a layer version ARN"),
        ({"env": {"BIG": "x" * 4100}}, "Lambda allows 4,096"),
        ({"env": {"AWS_REGION": "eu-west-1"}}, "reserved"),
        ({"env": {"1BAD": "x"}}, "environment variable name"),
        ({"reserved": -1}, "reserved concurrency"),
        ({"reserved": 5, "provisioned": 6}, "cannot exceed the function's reserved concurrency"),
        ({"provisioned": Provisioned(10, 5)}, "below its minimum"),
        ({"provisioned": Provisioned(1, 5, target=1.5)}, "target utilisation"),
        ({"architecture": "arm"}, "architecture"),
        ({"log_retention_days": 31}, "log_retention_days 31"),
    ],
)
def test_settings_over_lambda_s_limits_are_refused_on_the_declaring_line(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        function(**settings)
    with pytest.raises(ConfigurationError, match=f"app.http\\(\\).*{message}"):
        strato.App("limits", provider="local").http(function=settings)


def test_an_http_function_cannot_outlive_api_gateway_s_30_seconds(make_app):
    # HTTP APIs: integration timeout 50 ms to 30 s; WebSocket APIs: 50 ms to 29 s
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
    app = make_app("local")
    app.http(function={"timeout": 31}).get("/")(lambda req: {})
    with pytest.raises(ConfigurationError, match="function 'http': timeout 31 s is over 30 s: API Gateway HTTP"):
        synth(app)
    ws_app = make_app("local")
    ws_app.websocket("chat", function={"timeout": 30})
    with pytest.raises(ConfigurationError, match="function 'ws-chat': timeout 30 s is over 29 s"):
        synth(ws_app)


def test_a_consumer_cannot_outlive_its_queue_s_visibility_timeout(make_app):
    # "Your function's timeout must be less than or equal to the queue's visibility timeout"
    # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    app = make_app("local")
    jobs = app.queue("jobs", visibility_timeout=60)
    jobs.consumer()(function(timeout=61)(lambda message: None))
    with pytest.raises(ConfigurationError, match=r"function 'queue-jobs': timeout 61 s .* visibility timeout"):
        synth(app)


def test_reserved_concurrency_across_the_app_leaves_the_account_its_100_unreserved(make_app):
    app = make_app("local")
    for name in ("a", "b"):
        app.queue(name).consumer()(function(reserved=450)(lambda message: None))
    assert synth(app)["Resources"]["QueueAFunction"]["Properties"]["ReservedConcurrentExecutions"] == 450  # 900: fits
    app.queue("c").consumer()(function(reserved=1)(lambda message: None))
    with pytest.raises(ConfigurationError, match=r"adds up to 901 .*queue-a=450, queue-b=450, queue-c=1.* reserve 900"):
        synth(app)
    app.functions(account_concurrency=2000)  # a raised quota
    assert synth(app)["Resources"]["QueueCFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_handlers_sharing_a_function_declare_its_settings_once(make_app):
    app = make_app("local")
    files = app.bucket("files")
    files.on_change(events=["created"])(function(memory=256)(lambda event: None))
    files.on_change(events=["deleted"])(function(memory=512)(lambda event: None))
    with pytest.raises(ConfigurationError, match="bucket 'files': its handlers run in one Lambda function"):
        synth(app)


# -- tags ---------------------------------------------------------------------------------------------
# Tag restrictions: keys 1-128, values up to 256 characters, no aws: prefix, 50 per resource
# https://docs.aws.amazon.com/batch/latest/userguide/tag-restrictions.html
@pytest.mark.parametrize(
    "tags, message",
    [
        ({"": "x"}, "1 to 128"),
        ({"k" * 129: "x"}, "1 to 128"),
        ({"Owner": "v" * 257}, "at most 256"),
        ({"aws:cost": "x"}, "reserved for AWS"),
        ({"AWS:Cost": "x"}, "reserved for AWS"),
        ({"Team": "a|b"}, "letters, digits"),
        ({f"k{i}": "v" for i in range(51)}, "50 per resource"),
    ],
)
def test_bad_tags_are_refused(make_app, tags, message):
    with pytest.raises(ConfigurationError, match=message):
        make_app("local").tags(tags)


def test_deploy_tags_the_stack_and_the_stage_adds_environment(make_app, monkeypatch):
    from strato.deploy.tags import stack_tags

    monkeypatch.setenv("STRATO_STAGE", "staging")
    app = make_app("local")
    app.tags({"CostCenter": "42"})
    assert stack_tags(app) == [
        {"Key": "strato:app", "Value": app.name},
        {"Key": "CostCenter", "Value": "42"},
        {"Key": "Environment", "Value": "staging"},
    ]


def test_strato_cost_prices_the_provisioned_minimum_all_month(template, tmp_path):
    # Lambda pricing, provisioned concurrency (us-east-1): $0.0000033334 per GB-second on Arm,
    # $0.0000041667 on x86, charged from enabling it, whatever the traffic: https://aws.amazon.com/lambda/pricing/
    from strato.cost import estimate
    from strato.deploy.functions import provisioned_in

    kept = {p.function: p for p in provisioned_in(template)}
    assert (kept["prodapp-prod-http"].environments, kept["prodapp-prod-http"].memory_mb) == (5, 1536)
    lines = [li for li in estimate(tmp_path, provisioned=list(kept.values())) if li.unit.startswith("provisioned")]
    http = next(li for li in lines if "prodapp-prod-http" in li.description)
    assert http.unit == "provisioned_gb_seconds_arm64"
    assert http.quantity == 5 * 1.5 * 30 * 86_400 and http.monthly == pytest.approx(64.80, abs=0.01)


def test_provisioned_topic_and_schedule_functions_are_invoked_through_their_alias(make_app, tmp_path):
    app = make_app("local")
    events = app.topic("events")

    @events.subscribe()
    @function(provisioned=Provisioned(1, 3))
    def notify(message):
        return None

    app.schedule("rate(1 hour)", name="nightly")(function(provisioned=1)(lambda: None))
    template = synth(app)
    r = template["Resources"]
    fn = "TopicEventsNotifyFunction"
    assert "TopicEventsNotifyFunctionScalableTarget" in r
    alias = {"Ref": f"{fn}Alias"}
    subscription = next(v for v in resources(template, "AWS::SNS::Subscription").values())
    assert subscription["Properties"]["Endpoint"] == alias
    assert r[f"{fn}SnsPermission"]["Properties"]["FunctionName"] == alias
    invoke = r[f"{fn}InvokeConfig"]["Properties"]  # the retry / DLQ settings follow the alias
    assert invoke["FunctionName"] == {"Ref": fn} and invoke["Qualifier"] == "live"
    schedule = r["NightlySchedule"]["Properties"]["Target"]
    assert schedule["Arn"] == {"Ref": "ScheduleNightlyFunctionAlias"}
    role = r["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert role["Resource"] == [{"Ref": "ScheduleNightlyFunctionAlias"}]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    lint = subprocess.run(["cfn-lint", str(path)], capture_output=True, text=True, timeout=300)
    assert not [line for line in lint.stdout.splitlines() if line[:1] == "E"], lint.stdout


def test_settings_are_given_once_per_api(make_app):
    app = make_app("local")
    app.http(function={"memory": 256})
    with pytest.raises(ConfigurationError, match="only be given the first time"):
        app.http(function={"memory": 512})
    chat = app.websocket("chat", function={"memory": 256})
    chat.on_message(function(memory=512)(lambda conn, message: None))
    with pytest.raises(ConfigurationError, match=r"both on app\.websocket"):
        synth(app)
    with pytest.raises(ConfigurationError, match="unknown function setting"):
        app.websocket("other", function={"ram": 1})


def test_the_cost_command_adds_the_provisioned_concurrency_of_the_app(tmp_path):
    from tests.test_synth import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "strato.cli", "cost", APP, "--json", "--data", str(tmp_path / "data")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STRATO_PROVIDER": "local"},
    )
    assert result.returncode == 0, result.stderr
    lines = [li for li in json.loads(result.stdout)["lines"] if li["unit"].startswith("provisioned_gb_seconds")]
    # the HTTP function's 5 x 1.5 GB and the stream handler's 2 x 512 MB, all month, on arm64
    assert sorted(li["quantity"] for li in lines) == [2 * 0.5 * 2_592_000, 5 * 1.5 * 2_592_000]
    assert {li["unit"] for li in lines} == {"provisioned_gb_seconds_arm64"}
