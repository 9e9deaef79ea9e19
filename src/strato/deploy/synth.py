"""``strato synth``: the CloudFormation template for an App, deterministic and least-privilege.

Functions: one for all HTTP routes (they share a cold start and a latency budget), one per WebSocket
API, and one per asynchronous handler — each queue consumer, topic handler, schedule and bucket
watcher — so each gets its own timeout, concurrency, retries and failure destination. Every function
runs the same package through ``app.lambda_handler``; its role grants exactly the actions the app
declared on each resource (``allow=``) plus what its own trigger needs. Physical names reach the
runtime through ``STRATO_<KIND>_<NAME>`` environment variables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from . import functions as settings
from .iam import assume_role_policy, statements_for
from .names import function_name, logical

if TYPE_CHECKING:
    from ..app import App
    from ..core.function_settings import FunctionSettings

RUNTIME = "python3.12"
ENTRY = "strato_entry.handler"
#: what active tracing needs in the function role (the actions of the AWSXRayDaemonWriteAccess managed policy
#: Lambda's guide names; X-Ray's actions take no resource narrower than "*"):
#: https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
XRAY_STATEMENT = {
    "Sid": "XRayTraces",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
    "Resource": ["*"],
}


@dataclass
class Function:
    key: str  # http, ws-live, queue-jobs, topic-events-notify, schedule-backup, bucket-uploads
    logical: str
    timeout: int
    memory: int = 512
    env: dict[str, Any] = field(default_factory=dict)
    extra: list[dict[str, Any]] = field(default_factory=list)  # trigger-specific IAM statements
    settings: FunctionSettings | None = None  # @strato.function / function= (deploy/functions.py)


class Template:
    def __init__(self, app: App, region: str | None = None, architecture: str | None = None) -> None:
        from ..core.config import region as default_region

        self.app = app
        self.architecture = architecture  # the package's (deploy/architecture.py); None: decide here
        self.aliases: dict[str, str] = {}  # function logical id -> its provisioned ``live`` alias
        self.stage = app.config.stage
        self.region = region or default_region()  # where the stack goes (a site's Lambda@Edge needs us-east-1)
        self.conditions: dict[str, Any] = {}
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {
            "CodeBucket": {"Type": "String", "Description": "S3 bucket holding the Lambda package"},
            "CodeKey": {"Type": "String", "Description": "S3 key of the Lambda package (strato package)"},
        }
        # STRATO_LOG_FORMAT: structured JSON log lines with the trace id in every function (entry.py)
        self.env: dict[str, Any] = {"STRATO_PROVIDER": "aws", "STRATO_STAGE": self.stage, "STRATO_LOG_FORMAT": "json"}
        self.grants: list[Any] = []  # resources whose declared actions the functions are granted
        self.functions: list[Function] = []
        self.queue_policies: dict[str, list[dict[str, Any]]] = {}
        self.vpc = False

    def add(self, logical_id: str, resource_type: str, properties: dict[str, Any], **extra: Any) -> str:
        if logical_id in self.resources:
            raise ConfigurationError(f"two resources would be named {logical_id} in the template; rename one")
        self.resources[logical_id] = {"Type": resource_type, "Properties": properties, **extra}
        return logical_id

    def output(self, name: str, value: Any, description: str) -> None:
        self.outputs[name] = {"Value": value, "Description": description}

    # -- data --------------------------------------------------------------------------------------
    # -- messaging -----------------------------------------------------------------------------
    def allow_sns(self, queue_id: str, topic_id: str) -> None:
        self.queue_policies.setdefault(queue_id, []).append(
            {
                "Sid": f"From{topic_id}",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}},
            }
        )

    # -- APIs ------------------------------------------------------------------------------------
    # -- ElastiCache -----------------------------------------------------------------------------
    def elasticache(self) -> None:
        """A serverless Redis (Valkey) cache, and the functions placed in the VPC that reaches it (once)."""
        if self.vpc:
            return
        self.vpc = True
        self.parameters["VpcSubnetIds"] = {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Description": "Private subnets for the functions and ElastiCache (with a NAT gateway "
            "or VPC endpoints for the AWS APIs the app calls)",
        }
        self.parameters["VpcSecurityGroupIds"] = {
            "Type": "List<AWS::EC2::SecurityGroup::Id>",
            "Description": "Security groups letting the functions reach Redis on 6379",
        }
        self.add(
            "RedisCache",
            "AWS::ElastiCache::ServerlessCache",
            {
                "ServerlessCacheName": {"Fn::Sub": "${AWS::StackName}-redis"},
                "Engine": "valkey",
                "SubnetIds": {"Ref": "VpcSubnetIds"},
                "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"},
            },
            DeletionPolicy="Delete",
        )
        self.env["ELASTICACHE_ENDPOINT"] = {"Fn::Sub": "${RedisCache.Endpoint.Address}:${RedisCache.Endpoint.Port}"}
        self.env["REDIS_TLS"] = "1"  # ElastiCache Serverless only speaks TLS
        self.output("RedisEndpoint", {"Fn::GetAtt": ["RedisCache", "Endpoint.Address"]}, "ElastiCache endpoint")

    # -- functions ---------------------------------------------------------------------------------
    def function(
        self,
        key: str,
        timeout: int,
        env: dict[str, Any] | None = None,
        extra: list[dict[str, Any]] | None = None,
        settings: FunctionSettings | None = None,
    ) -> Function:
        fn = Function(key, logical(key, "Function"), timeout, env=env or {}, extra=extra or [], settings=settings)
        self.functions.append(fn)
        return fn

    def emit_functions(self) -> None:
        grants = statements_for(self.grants, self.stage)
        managed = []
        if grants:  # the app's declared grants, once, attached to every function role
            managed = [
                {
                    "Ref": self.add(
                        "AppPolicy",
                        "AWS::IAM::ManagedPolicy",
                        {
                            "Description": f"What the code of {self.app.name} was declared to do (allow=)",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": grants},
                        },
                    )
                }
            ]
        chosen = {}
        for fn in self.functions:
            name = function_name(self.app.name, self.stage, fn.key)
            chosen[fn.key] = own = settings.settings_for(self, fn)
            log_group = self.add(
                f"{fn.logical}Logs",
                "AWS::Logs::LogGroup",
                {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": settings.log_retention(own)},
            )
            statements = [
                {
                    "Sid": "OwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [{"Fn::GetAtt": [log_group, "Arn"]}],
                },
                XRAY_STATEMENT,
                *fn.extra,
            ]
            if self.vpc:  # Lambda's VPC network interfaces: these EC2 actions accept no narrower resource
                statements.append(
                    {
                        "Sid": "VpcNetworkInterfaces",
                        "Effect": "Allow",
                        "Resource": ["*"],
                        "Action": [
                            "ec2:AssignPrivateIpAddresses",
                            "ec2:CreateNetworkInterface",
                            "ec2:DeleteNetworkInterface",
                            "ec2:DescribeNetworkInterfaces",
                            "ec2:UnassignPrivateIpAddresses",
                        ],
                    }
                )
            role = self.add(
                f"{fn.logical}Role",
                "AWS::IAM::Role",
                {
                    "AssumeRolePolicyDocument": assume_role_policy("lambda.amazonaws.com"),
                    "ManagedPolicyArns": managed,
                    "Policies": [
                        {
                            "PolicyName": "own-logs-and-trigger",
                            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                        }
                    ],
                },
            )
            props = {
                "FunctionName": name,
                "Runtime": RUNTIME,
                "Handler": ENTRY,
                "Timeout": fn.timeout,
                "MemorySize": fn.memory,
                "Architectures": ["x86_64"],
                "Code": {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}},
                "Role": {"Fn::GetAtt": [role, "Arn"]},
                "Environment": {"Variables": {**self.env, **fn.env}},
                "LoggingConfig": {"LogGroup": {"Ref": log_group}},
                # X-Ray active tracing: Lambda records a segment per invocation and continues the trace of
                # the event (an SQS message's AWSTraceHeader, the caller's header); strato's sends carry it on
                # https://docs.aws.amazon.com/lambda/latest/dg/API_TracingConfig.html
                "TracingConfig": {"Mode": "Active"},
            }
            if self.vpc:
                props["VpcConfig"] = {
                    "SubnetIds": {"Ref": "VpcSubnetIds"},
                    "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"},
                }
            settings.configure(self, fn, own, props, self.package_architecture())
            self.add(fn.logical, "AWS::Lambda::Function", props)
            settings.provisioned(self, fn, own, props)
        settings.check_account(self, chosen)
        settings.retarget(self)

    def package_architecture(self) -> str:
        """arm64 unless a packaged dependency has no arm64 build (decided once per template)."""
        if self.architecture is None:
            from .architecture import for_app

            self.architecture = for_app(self.app).architecture
        return self.architecture

    def emit_queue_policies(self) -> None:
        for queue_id, statements in sorted(self.queue_policies.items()):
            self.add(
                f"{queue_id}Policy",
                "AWS::SQS::QueuePolicy",
                {"Queues": [{"Ref": queue_id}], "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}},
            )

    def build(self) -> dict[str, Any]:
        from . import alarms, tags

        app = self.app
        alarms.prepare(self)  # the alerts topic the default alarms notify, before the resources are written
        for resource in list(app.resources.values()):  # each kind's deploy.py adds its resources and grants
            deploy_module(resource).synth(self, resource)
        if app._http is not None:
            from ..http.deploy import synth_api

            synth_api(self, app._http)
        if app.schedules:
            from ..schedule.deploy import synth_schedules

            synth_schedules(self)
        if getattr(app, "backup_plan", None) is not None:
            from ..backup.deploy import synth_backups

            synth_backups(self)
        self.emit_functions()
        self.emit_queue_policies()
        alarms.synth_defaults(self)
        tags.apply(self)
        for alias, source in app.output_aliases.items():
            if source not in self.outputs:
                raise ConfigurationError(
                    f"app.output({alias!r}): no output {source!r}; outputs: {sorted(self.outputs)}"
                )
            if alias in self.outputs and alias != source:
                raise ConfigurationError(f"app.output({alias!r}): the template already has an output of that name")
            self.outputs[alias] = {**self.outputs[source], "Description": f"{source} (app.output)"}
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"strato app {app.name} (stage {self.stage})",
            "Parameters": self.parameters,
            **({"Conditions": self.conditions} if self.conditions else {}),
            "Resources": self.resources,
            "Outputs": self.outputs,
        }


def deploy_module(resource: Any) -> Any:
    """The ``deploy.py`` beside a resource's facade (``strato.table`` -> ``strato.table.deploy``)."""
    import importlib

    return importlib.import_module(f"{type(resource).__module__}.deploy")


def synth(app: App, region: str | None = None, architecture: str | None = None) -> dict[str, Any]:
    """The CloudFormation template of ``app`` as a dict, for a stack in ``region`` (default: the configured
    one); ``architecture``: the package's, when it is built."""
    return Template(app, region, architecture).build()


def render(template: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, stable indentation."""
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
