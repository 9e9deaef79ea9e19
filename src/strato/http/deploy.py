"""The HTTP API in CloudFormation: one function for every route (they share a cold start and a latency
budget), an API Gateway HTTP API with CORS, JWT authorizers for auth= routes, and a stage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..deploy.names import camel, logical

if TYPE_CHECKING:
    from ..auth import UserPool
    from ..deploy.synth import Template
    from . import HttpApi


from .authorizer import needs_token, pool_for


def synth_api(t: Template, api: HttpApi) -> None:
    if not api.routes:
        return
    fn = t.function("http", int(min(api.timeout + 1, 30)), settings=getattr(api, "function_settings", None))
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
    t.add("HttpApi", "AWS::ApiGatewayV2::Api", props)
    t.add(
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
                AuthorizerId={"Ref": jwt_authorizer(t, pool_for(t.app.context, route.options))},
            )
        t.add(
            f"HttpRoute{camel(route.method.lower())}{camel(route.path.replace('+', 'Greedy')) or 'Root'}",
            "AWS::ApiGatewayV2::Route",
            props,
        )
    t.add(
        "HttpStage",
        "AWS::ApiGatewayV2::Stage",
        {"ApiId": {"Ref": "HttpApi"}, "StageName": "$default", "AutoDeploy": True},
    )
    t.add(
        "HttpInvokePermission",
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": fn.logical},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"},
        },
    )
    t.output(
        "HttpApiUrl",
        {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.amazonaws.com"},
        "Base URL of the HTTP API",
    )


def jwt_authorizer(t: Template, pool: UserPool) -> str:
    """One HTTP API JWT authorizer per pool: Cognito's issuer, the app client as audience."""
    pool_id = logical(pool.name, "UserPool")
    authorizer = f"HttpAuthorizer{logical(pool.name, '')}"
    if authorizer not in t.resources:
        t.add(
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
