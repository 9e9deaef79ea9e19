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
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError
from ..http.authorizer import needs_token, pool_for
from .iam import statements_for
from .names import camel, env_name, function_name, logical

RUNTIME = "python3.12"
ENTRY = "strato_entry.handler"
LOG_RETENTION_DAYS = 30


@dataclass
class Function:
    key: str  # http, ws-live, queue-jobs, topic-events-notify, schedule-backup, bucket-uploads
    logical: str
    timeout: int
    memory: int = 512
    env: dict[str, Any] = field(default_factory=dict)
    extra: list[dict[str, Any]] = field(default_factory=list)  # trigger-specific IAM statements


class Template:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.stage = app.config.stage
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {
            "CodeBucket": {"Type": "String", "Description": "S3 bucket holding the Lambda package"},
            "CodeKey": {"Type": "String", "Description": "S3 key of the Lambda package (strato package)"},
        }
        self.env: dict[str, Any] = {"STRATO_PROVIDER": "aws", "STRATO_STAGE": self.stage}
        self.grants: list[tuple[str, Any]] = []
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
    def table(self, table: Any, kind: str = "table", env_kind: str | None = None) -> None:
        schema = table.schema
        from ..table.aws import table_layout

        layout = table_layout(schema)
        props: dict[str, Any] = {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": layout["KeySchema"],
            "AttributeDefinitions": layout["AttributeDefinitions"],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
        if "GlobalSecondaryIndexes" in layout:
            props["GlobalSecondaryIndexes"] = layout["GlobalSecondaryIndexes"]
        if schema.ttl:
            props["TimeToLiveSpecification"] = {"AttributeName": schema.ttl, "Enabled": True}
        handlers = getattr(table, "stream_handlers", None) or []
        if handlers:
            props["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        logical_id = self.add(
            logical(table.name, "Table"),
            "AWS::DynamoDB::Table",
            props,
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
        self.env[env_name(env_kind or kind, table.name)] = {"Ref": logical_id}
        self.output(logical_id, {"Ref": logical_id}, f"DynamoDB table of {kind} {table.name}")
        for spec in handlers:
            self.change_stream(logical_id, spec)

    def change_stream(self, table_id: str, spec: Any) -> None:
        """One function per ``@table.on_change`` handler, fed by a Streams event source mapping."""
        handler = spec.name.split(":", 1)[1]
        stream_arn = {"Fn::GetAtt": [table_id, "StreamArn"]}
        fn = self.function(
            f"stream-{spec.table.name}-{handler}",
            300,
            env={"STRATO_HANDLER": spec.name},
            extra=[
                {
                    "Sid": "ReadOwnStream",
                    "Effect": "Allow",
                    "Action": [
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                        "dynamodb:ListStreams",
                    ],
                    "Resource": [stream_arn],
                }
            ],
        )
        self.add(
            f"{fn.logical}EventSource",
            "AWS::Lambda::EventSourceMapping",
            {
                "EventSourceArn": stream_arn,
                "FunctionName": {"Ref": fn.logical},
                "StartingPosition": "LATEST",
                "BatchSize": spec.batch_size,
                "MaximumRetryAttempts": max(spec.max_attempts - 1, 0),
                "BisectBatchOnFunctionError": False,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "Enabled": True,
            },
        )

    def bucket(self, bucket: Any) -> None:
        props: dict[str, Any] = {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        }
        rules = [
            {
                "Id": "abort-incomplete-uploads",
                "Status": "Enabled",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            }
        ]
        if bucket.expire_after_days:
            rules.append({"Id": "expire", "Status": "Enabled", "ExpirationInDays": bucket.expire_after_days})
        props["LifecycleConfiguration"] = {"Rules": rules}
        logical_id = logical(bucket.name, "Bucket")
        # named from pseudo-parameters only: the functions can know it without a Ref, which would make a
        # cycle with the bucket's notification -> permission -> function
        name = {"Fn::Sub": bucket_name(self.app.name, self.stage, bucket.name)}
        props["BucketName"] = name
        extra: dict[str, Any] = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
        if bucket.watchers:
            fn = self.function(f"bucket-{bucket.name}", 60)
            configs = []
            for watcher in bucket.watchers:
                rules_filter = [
                    r
                    for r in ({"Name": "prefix", "Value": watcher.prefix}, {"Name": "suffix", "Value": watcher.suffix})
                    if r["Value"]
                ]
                for kind in watcher.events:
                    events = (
                        ["s3:ObjectCreated:*"]
                        if kind == "created"
                        else ["s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"]
                    )
                    for event in events:
                        config = {"Event": event, "Function": {"Fn::GetAtt": [fn.logical, "Arn"]}}
                        if rules_filter:
                            config["Filter"] = {"S3Key": {"Rules": rules_filter}}
                        configs.append(config)
            props["NotificationConfiguration"] = {"LambdaConfigurations": configs}
            permission = self.add(
                f"{logical_id}InvokePermission",
                "AWS::Lambda::Permission",
                {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Ref": fn.logical},
                    "Principal": "s3.amazonaws.com",
                    "SourceAccount": {"Ref": "AWS::AccountId"},
                },
            )
            extra["DependsOn"] = [permission]
        self.add(logical_id, "AWS::S3::Bucket", props, **extra)
        self.env[env_name("bucket", bucket.name)] = name
        self.output(logical_id, {"Ref": logical_id}, f"S3 bucket {bucket.name}")

    # -- messaging -----------------------------------------------------------------------------
    def queue(self, queue: Any) -> None:
        props: dict[str, Any] = {
            "VisibilityTimeout": queue.visibility_timeout,
            "DelaySeconds": queue.delay,
            "MessageRetentionPeriod": queue.retention,
            "SqsManagedSseEnabled": True,
        }
        if queue.fifo:
            props.update(FifoQueue=True, ContentBasedDeduplication=queue.content_dedup)
        if queue.dlq is not None:
            props["RedrivePolicy"] = {
                "deadLetterTargetArn": {"Fn::GetAtt": [logical(queue.dlq.name, "Queue"), "Arn"]},
                "maxReceiveCount": queue.max_receive_count,
            }
        logical_id = self.add(logical(queue.name, "Queue"), "AWS::SQS::Queue", props)
        self.env[env_name("queue", queue.name)] = {"Fn::GetAtt": [logical_id, "QueueName"]}
        self.output(logical_id, {"Ref": logical_id}, f"SQS queue URL of {queue.name}")
        for consumer in queue.consumers[:1]:
            timeout = max(3, min(queue.visibility_timeout, 900))
            fn = self.function(
                f"queue-{queue.name}",
                timeout,
                extra=[
                    {
                        "Sid": "ConsumeOwnQueue",
                        "Effect": "Allow",
                        "Action": [
                            "sqs:ChangeMessageVisibility",
                            "sqs:DeleteMessage",
                            "sqs:GetQueueAttributes",
                            "sqs:ReceiveMessage",
                        ],
                        "Resource": [{"Fn::GetAtt": [logical_id, "Arn"]}],
                    }
                ],
            )
            mapping = {
                "EventSourceArn": {"Fn::GetAtt": [logical_id, "Arn"]},
                "FunctionName": {"Ref": fn.logical},
                "BatchSize": consumer.batch_size,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "Enabled": True,
            }
            if not queue.fifo:
                mapping["ScalingConfig"] = {"MaximumConcurrency": max(2, consumer.max_concurrency)}
            self.add(f"{logical_id}EventSource", "AWS::Lambda::EventSourceMapping", mapping)

    def topic(self, topic: Any) -> None:
        props: dict[str, Any] = {}
        if topic.fifo:
            props.update(FifoTopic=True, ContentBasedDeduplication=topic.content_dedup)
        logical_id = self.add(logical(topic.name, "Topic"), "AWS::SNS::Topic", props)
        self.env[env_name("topic", topic.name)] = {"Fn::GetAtt": [logical_id, "TopicName"]}
        self.env[env_name("topic", topic.name, "_ARN")] = {"Ref": logical_id}
        self.output(logical_id, {"Ref": logical_id}, f"SNS topic ARN of {topic.name}")
        for sub in topic.declared:
            sub_props: dict[str, Any] = {"TopicArn": {"Ref": logical_id}}
            if sub.filter:
                sub_props["FilterPolicy"] = sub.filter
                sub_props["FilterPolicyScope"] = "MessageBody" if sub.scope == "body" else "MessageAttributes"
            suffix = camel(sub.arn.rsplit(":", 1)[-1])
            if sub.protocol == "sqs":
                queue_id = logical(sub.handler.name, "Queue")
                sub_props.update(Protocol="sqs", Endpoint={"Fn::GetAtt": [queue_id, "Arn"]}, RawMessageDelivery=sub.raw)
                self.allow_sns(queue_id, logical_id)
            else:
                handler = sub.arn.rsplit(":", 1)[-1]
                dlq_id = logical(sub.dlq.name, "Queue")
                fn = self.function(
                    f"topic-{topic.name}-{handler}",
                    60,
                    env={"STRATO_HANDLER": handler},
                    extra=[
                        {
                            "Sid": "FailedEventsToDlq",
                            "Effect": "Allow",
                            "Action": ["sqs:SendMessage"],
                            "Resource": [{"Fn::GetAtt": [dlq_id, "Arn"]}],
                        }
                    ],
                )
                sub_props.update(Protocol="lambda", Endpoint={"Fn::GetAtt": [fn.logical, "Arn"]})
                self.add(
                    f"{fn.logical}SnsPermission",
                    "AWS::Lambda::Permission",
                    {
                        "Action": "lambda:InvokeFunction",
                        "FunctionName": {"Ref": fn.logical},
                        "Principal": "sns.amazonaws.com",
                        "SourceArn": {"Ref": logical_id},
                    },
                )
                self.add(
                    f"{fn.logical}InvokeConfig",
                    "AWS::Lambda::EventInvokeConfig",
                    {
                        "FunctionName": {"Ref": fn.logical},
                        "Qualifier": "$LATEST",
                        "MaximumRetryAttempts": min(max(sub.max_attempts - 1, 0), 2),
                        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq_id, "Arn"]}}},
                    },
                )
            self.add(f"{logical_id}{suffix}Subscription", "AWS::SNS::Subscription", sub_props)

    def metrics(self, metrics: Any) -> None:
        """CloudWatch needs no resource for metrics; each declared alarm becomes an AWS::CloudWatch::Alarm."""
        from ..metrics.aws import alarm_params

        for alarm in metrics.alarms.values():
            props = alarm_params(alarm, metrics.namespace)
            props["AlarmName"] = f"{self.app.name}-{self.stage}-{alarm.name}"
            for key, topics in (
                ("AlarmActions", alarm.actions),
                ("OKActions", alarm.ok_actions),
                ("InsufficientDataActions", alarm.insufficient_data_actions),
            ):
                props[key] = [{"Ref": logical(t.name, "Topic")} for t in topics]
            self.add(logical(alarm.name, "Alarm"), "AWS::CloudWatch::Alarm", props)

    def user_pool(self, pool: Any) -> None:
        """The Cognito pool (retained: it holds the users) and the app client the tokens are issued to."""
        from ..auth.cognito import client_properties, pool_properties

        physical = self.app.config.physical_name("user_pool", pool.name)
        pool_id = self.add(
            logical(pool.name, "UserPool"),
            "AWS::Cognito::UserPool",
            pool_properties(pool, physical),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
        client_id = self.add(
            logical(pool.name, "UserPoolClient"),
            "AWS::Cognito::UserPoolClient",
            {"UserPoolId": {"Ref": pool_id}, **client_properties()},
        )
        self.env[env_name("user_pool", pool.name, "_ID")] = {"Ref": pool_id}
        self.env[env_name("user_pool", pool.name, "_CLIENT_ID")] = {"Ref": client_id}
        self.output(pool_id, {"Ref": pool_id}, f"Cognito user pool {pool.name}")
        self.output(client_id, {"Ref": client_id}, f"App client of user pool {pool.name}")

    def jwt_authorizer(self, pool: Any) -> str:
        """One HTTP API JWT authorizer per pool: Cognito's issuer, the app client as audience."""
        pool_id = logical(pool.name, "UserPool")
        authorizer = f"HttpAuthorizer{logical(pool.name, '')}"
        if authorizer not in self.resources:
            self.add(
                authorizer,
                "AWS::ApiGatewayV2::Authorizer",
                {
                    "ApiId": {"Ref": "HttpApi"},
                    "AuthorizerType": "JWT",
                    "Name": f"{pool.name}-jwt",
                    "IdentitySource": ["$request.header.Authorization"],
                    "JwtConfiguration": {
                        "Audience": [{"Ref": logical(pool.name, "UserPoolClient")}],
                        "Issuer": {"Fn::Sub": f"https://cognito-idp.${{AWS::Region}}.amazonaws.com/${{{pool_id}}}"},
                    },
                },
            )
        return authorizer

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
    def http(self, api: Any) -> None:
        if not api.routes:
            return
        fn = self.function("http", int(min(api.timeout + 1, 30)))
        props: dict[str, Any] = {"Name": {"Fn::Sub": "${AWS::StackName}-http"}, "ProtocolType": "HTTP"}
        if api.cors:
            cors = api.cors
            props["CorsConfiguration"] = {
                "AllowOrigins": list(cors.allow_origins),
                "AllowMethods": list(cors.allow_methods),
                "AllowHeaders": list(cors.allow_headers),
                "AllowCredentials": cors.allow_credentials,
            }
            if cors.expose_headers:
                props["CorsConfiguration"]["ExposeHeaders"] = list(cors.expose_headers)
            if cors.max_age:
                props["CorsConfiguration"]["MaxAge"] = cors.max_age
        self.add("HttpApi", "AWS::ApiGatewayV2::Api", props)
        self.add(
            "HttpIntegration",
            "AWS::ApiGatewayV2::Integration",
            {
                "ApiId": {"Ref": "HttpApi"},
                "IntegrationType": "AWS_PROXY",
                "PayloadFormatVersion": "2.0",
                "IntegrationUri": {"Fn::GetAtt": [fn.logical, "Arn"]},
                "TimeoutInMillis": int(min(api.timeout, 30) * 1000),
            },
        )
        for route in sorted(api.routes, key=lambda r: r.key):
            props = {
                "ApiId": {"Ref": "HttpApi"},
                "RouteKey": route.key,
                "Target": {"Fn::Sub": "integrations/${HttpIntegration}"},
            }
            if needs_token(route.options):  # the gateway checks the JWT; groups are checked in the function
                props.update(
                    AuthorizationType="JWT",
                    AuthorizerId={"Ref": self.jwt_authorizer(pool_for(self.app, route.options))},
                )
            self.add(
                f"HttpRoute{camel(route.method.lower())}{camel(route.path.replace('+', 'Greedy')) or 'Root'}",
                "AWS::ApiGatewayV2::Route",
                props,
            )
        self.add(
            "HttpStage",
            "AWS::ApiGatewayV2::Stage",
            {"ApiId": {"Ref": "HttpApi"}, "StageName": "$default", "AutoDeploy": True},
        )
        self.add(
            "HttpInvokePermission",
            "AWS::Lambda::Permission",
            {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": fn.logical},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"
                },
            },
        )
        self.output(
            "HttpApiUrl",
            {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.amazonaws.com"},
            "Base URL of the HTTP API",
        )

    def websocket(self, ws: Any) -> None:
        api_id = logical(ws.name, "WebSocketApi")
        fn = self.function(f"ws-{ws.name}", 29, env={"STRATO_WEBSOCKET": ws.name})
        self.add(
            api_id,
            "AWS::ApiGatewayV2::Api",
            {
                "Name": {"Fn::Sub": f"${{AWS::StackName}}-{ws.name}"},
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": f"$request.body.{ws.route_field}",
            },
        )
        integration = self.add(
            f"{api_id}Integration",
            "AWS::ApiGatewayV2::Integration",
            {
                "ApiId": {"Ref": api_id},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": {
                    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                    f"functions/${{{fn.logical}.Arn}}/invocations"
                },
            },
        )
        routes = sorted({"$connect", "$disconnect", *ws.handlers})
        route_ids = []
        for key in routes:
            route_id = f"{api_id}Route{camel(key.replace('$', 'Dollar '))}"
            props = {
                "ApiId": {"Ref": api_id},
                "RouteKey": key,
                "Target": {"Fn::Sub": f"integrations/${{{integration}}}"},
            }
            if key not in ("$connect", "$disconnect"):
                props["RouteResponseSelectionExpression"] = "$default"
            if key == "$connect" and needs_token(ws.auth_options):
                props.update(AuthorizationType="CUSTOM", AuthorizerId={"Ref": self.ws_authorizer(api_id, fn)})
            self.add(route_id, "AWS::ApiGatewayV2::Route", props)
            route_ids.append(route_id)
            if key not in ("$connect", "$disconnect"):
                self.add(
                    f"{route_id}Response",
                    "AWS::ApiGatewayV2::RouteResponse",
                    {"ApiId": {"Ref": api_id}, "RouteId": {"Ref": route_id}, "RouteResponseKey": "$default"},
                )
        import hashlib

        version = hashlib.sha256("|".join(routes).encode()).hexdigest()[:8]
        deployment = self.add(
            f"{api_id}Deployment{version}",
            "AWS::ApiGatewayV2::Deployment",
            {"ApiId": {"Ref": api_id}},
            DependsOn=route_ids,
        )
        self.add(
            f"{api_id}Stage",
            "AWS::ApiGatewayV2::Stage",
            {"ApiId": {"Ref": api_id}, "StageName": self.stage, "DeploymentId": {"Ref": deployment}},
        )
        self.add(
            f"{api_id}InvokePermission",
            "AWS::Lambda::Permission",
            {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": fn.logical},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {
                    "Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:"
                    f"${{{api_id}}}/*"
                },
            },
        )
        url = {"Fn::Sub": f"wss://${{{api_id}}}.execute-api.${{AWS::Region}}.amazonaws.com/{self.stage}"}
        self.env[env_name("websocket", ws.name, "_API_ID")] = {"Ref": api_id}
        self.env[env_name("websocket", ws.name, "_URL")] = url
        self.env[env_name("websocket", ws.name, "_ENDPOINT")] = {
            "Fn::Sub": f"https://${{{api_id}}}.execute-api.${{AWS::Region}}.amazonaws.com/{self.stage}"
        }
        self.output(f"{api_id}Url", url, f"WebSocket URL of {ws.name}")

    def ws_authorizer(self, api_id: str, fn: Function) -> str:
        """The $connect REQUEST authorizer: the API's own function checks the token (query ``token`` or
        Authorization header, so no identity source and no caching) and returns the claims as context."""
        return self.add(
            f"{api_id}Authorizer",
            "AWS::ApiGatewayV2::Authorizer",
            {
                "ApiId": {"Ref": api_id},
                "AuthorizerType": "REQUEST",
                "Name": f"{api_id}-connect",
                "AuthorizerUri": {
                    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                    f"functions/${{{fn.logical}.Arn}}/invocations"
                },
            },
        )

    def schedules(self) -> None:
        if not self.app.schedules:
            return
        targets = []
        for schedule in self.app.schedules:
            fn = self.function(f"schedule-{schedule.name}", 300, env={"STRATO_HANDLER": schedule.name})
            targets.append(fn)
            rule = self.app.config.physical_name("schedule", schedule.name)
            payload = {
                "version": "0",
                "id": "eventbridge-scheduler",
                "detail-type": "Scheduled Event",
                "source": "aws.scheduler",
                "account": "",
                "time": "",
                "region": "",
                "resources": [f"arn:aws:events:::rule/{rule}"],
                "detail": {},
            }
            self.add(
                logical(schedule.name, "Schedule"),
                "AWS::Scheduler::Schedule",
                {
                    "ScheduleExpression": schedule.expression,
                    "ScheduleExpressionTimezone": "UTC",
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "State": "ENABLED",
                    "Target": {
                        "Arn": {"Fn::GetAtt": [fn.logical, "Arn"]},
                        "RoleArn": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
                        "Input": json.dumps(payload, sort_keys=True),
                        "RetryPolicy": {"MaximumRetryAttempts": 2},
                    },
                },
            )
        self.add(
            "SchedulerRole",
            "AWS::IAM::Role",
            {
                "AssumeRolePolicyDocument": _assume("scheduler.amazonaws.com"),
                "Policies": [
                    {
                        "PolicyName": "invoke-schedule-functions",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "lambda:InvokeFunction",
                                    "Resource": [{"Fn::GetAtt": [f.logical, "Arn"]} for f in targets],
                                }
                            ],
                        },
                    }
                ],
            },
        )

    # -- ElastiCache -----------------------------------------------------------------------------
    def elasticache(self) -> None:
        """A serverless Redis (Valkey) cache, and the functions placed in the VPC that reaches it."""
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
        self, key: str, timeout: int, env: dict[str, Any] | None = None, extra: list[dict[str, Any]] | None = None
    ) -> Function:
        fn = Function(key, logical(key, "Function"), timeout, env=env or {}, extra=extra or [])
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
        for fn in self.functions:
            name = function_name(self.app.name, self.stage, fn.key)
            log_group = self.add(
                f"{fn.logical}Logs",
                "AWS::Logs::LogGroup",
                {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": LOG_RETENTION_DAYS},
            )
            statements = [
                {
                    "Sid": "OwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [{"Fn::GetAtt": [log_group, "Arn"]}],
                },
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
                    "AssumeRolePolicyDocument": _assume("lambda.amazonaws.com"),
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
            }
            if self.vpc:
                props["VpcConfig"] = {
                    "SubnetIds": {"Ref": "VpcSubnetIds"},
                    "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"},
                }
            self.add(fn.logical, "AWS::Lambda::Function", props)

    def emit_queue_policies(self) -> None:
        for queue_id, statements in sorted(self.queue_policies.items()):
            self.add(
                f"{queue_id}Policy",
                "AWS::SQS::QueuePolicy",
                {"Queues": [{"Ref": queue_id}], "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}},
            )

    def build(self) -> dict[str, Any]:
        app = self.app
        redis_users = [
            r for (kind, _), r in app.resources.items() if kind in ("kv", "cache") and r.provider_name == "redis"
        ]
        if redis_users:
            self.elasticache()
        for (kind, _), resource in app.resources.items():
            if kind == "table":
                self.table(resource)
                self.grants.append(("table", resource))
            elif kind in ("kv", "cache") and resource.provider_name == "redis":
                pass  # lives in the ElastiCache cache; reached through the VPC, not IAM
            elif kind in ("kv", "cache"):
                from ..table import Table

                shape = Table(app, resource.name, "p", "k", ttl="exp")  # the table kv and cache keep inside
                self.table(shape, kind)
                self.grants.append((kind, resource))
                if kind == "cache":
                    self.table(resource.snapshot_table)
                    self.grants.append(("table", resource.snapshot_table))
            elif kind == "bucket":
                self.bucket(resource)
                self.grants.append(("bucket", resource))
            elif kind == "queue":
                self.queue(resource)
                self.grants.append(("queue", resource))
            elif kind == "topic":
                self.topic(resource)
                self.grants.append(("topic", resource))
            elif kind == "websocket":
                self.websocket(resource)
                self.grants.append(("websocket", resource))
            elif kind == "metrics":
                self.metrics(resource)
                self.grants.append(("metrics", resource))
            elif kind == "meetings":  # no resource: meetings are made at run time; the role may manage them
                self.grants.append(("meetings", resource))
            elif kind == "user_pool":
                self.user_pool(resource)
                self.grants.append(("user_pool", resource))
            elif kind == "sql":
                param = logical(resource.name, "SqlSecretArn")
                self.parameters[param] = {
                    "Type": "String",
                    "Description": f"Secrets Manager ARN of the RDS credentials for sql {resource.name}",
                }
                self.env[env_name("sql", resource.name, "_SECRET")] = {"Ref": param}
                self.grants.append(("sql", resource))
        if app._http is not None:
            self.http(app._http)
        self.schedules()
        self.emit_functions()
        self.emit_queue_policies()
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"strato app {app.name} (stage {self.stage})",
            "Parameters": self.parameters,
            "Resources": self.resources,
            "Outputs": self.outputs,
        }


def bucket_name(app: str, stage: str, bucket: str) -> str:
    """An S3-valid name template from the declaration plus ${AWS::AccountId}-${AWS::Region}."""
    prefix = re.sub(r"[^a-z0-9-]", "-", f"{app}-{stage}-{bucket}".lower())[:30].strip("-")
    return f"{prefix}-${{AWS::AccountId}}-${{AWS::Region}}"


def _assume(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def synth(app: Any) -> dict[str, Any]:
    """The CloudFormation template of ``app`` as a dict."""
    return Template(app).build()


def render(template: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, stable indentation."""
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
