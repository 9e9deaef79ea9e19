"""A WebSocket API in CloudFormation: the API, its routes on one function, a $connect REQUEST authorizer
for auth= APIs, a stage; IAM to post to its connections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.function_settings import websocket_settings
from ..deploy.names import camel, env_name, logical
from ..http.authorizer import needs_token

if TYPE_CHECKING:
    from ..deploy.synth import Function, Template
    from . import WebSocketApi


def synth(t: Template, ws: WebSocketApi) -> None:
    _websocket(t, ws)
    t.grants.append(ws)


def arns(resource: WebSocketApi, action: str, stage: str) -> list[Any]:
    api = logical(resource.name, "WebSocketApi")
    return [
        {
            "Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/"
            f"{stage}/*/@connections/*"
        }
    ]


def _websocket(t: Template, ws: WebSocketApi) -> None:
    api_id = logical(ws.name, "WebSocketApi")
    fn = t.function(f"ws-{ws.name}", 29, env={"STRATO_WEBSOCKET": ws.name}, settings=websocket_settings(ws))
    t.add(
        api_id,
        "AWS::ApiGatewayV2::Api",
        {
            "Name": {"Fn::Sub": f"${{AWS::StackName}}-{ws.name}"},
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": f"$request.body.{ws.route_field}",
        },
    )
    integration = t.add(
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
            props.update(AuthorizationType="CUSTOM", AuthorizerId={"Ref": ws_authorizer(t, api_id, fn)})
        t.add(route_id, "AWS::ApiGatewayV2::Route", props)
        route_ids.append(route_id)
        if key not in ("$connect", "$disconnect"):
            t.add(
                f"{route_id}Response",
                "AWS::ApiGatewayV2::RouteResponse",
                {"ApiId": {"Ref": api_id}, "RouteId": {"Ref": route_id}, "RouteResponseKey": "$default"},
            )
    import hashlib

    version = hashlib.sha256("|".join(routes).encode()).hexdigest()[:8]
    deployment = t.add(
        f"{api_id}Deployment{version}",
        "AWS::ApiGatewayV2::Deployment",
        {"ApiId": {"Ref": api_id}},
        DependsOn=route_ids,
    )
    t.add(
        f"{api_id}Stage",
        "AWS::ApiGatewayV2::Stage",
        {"ApiId": {"Ref": api_id}, "StageName": t.stage, "DeploymentId": {"Ref": deployment}},
    )
    t.add(
        f"{api_id}InvokePermission",
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": fn.logical},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {
                "Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api_id}}}/*"
            },
        },
    )
    url = {"Fn::Sub": f"wss://${{{api_id}}}.execute-api.${{AWS::Region}}.amazonaws.com/{t.stage}"}
    t.env[env_name("websocket", ws.name, "_API_ID")] = {"Ref": api_id}
    t.env[env_name("websocket", ws.name, "_URL")] = url
    t.env[env_name("websocket", ws.name, "_ENDPOINT")] = {
        "Fn::Sub": f"https://${{{api_id}}}.execute-api.${{AWS::Region}}.amazonaws.com/{t.stage}"
    }
    t.output(f"{api_id}Url", url, f"WebSocket URL of {ws.name}")


def ws_authorizer(t: Template, api_id: str, fn: Function) -> str:
    """The $connect REQUEST authorizer: the API's own function checks the token (query ``token`` or
    Authorization header, so no identity source and no caching) and returns the claims as context."""
    return t.add(
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
