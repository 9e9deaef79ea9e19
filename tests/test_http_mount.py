"""api.mount("/legacy", fastapi_app): a FastAPI app (its own dependency injection, validation and lifespan)
behind the HTTP API, through ``app.lambda_handler`` with API Gateway payload 2.0 events and over real HTTP
under ``strato dev``; and ``strato synth`` routing the prefix.

Payload 2.0 as API Gateway documents it
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
duplicate query strings are joined with commas in ``queryStringParameters`` (``rawQueryString`` keeps them),
the request's cookies arrive in ``cookies``, and each cookie of the response becomes a set-cookie header.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from strato.core.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
APP = "tests/apps/mounted_app.py"


def apigw_event(
    method: str,
    path: str,
    query: list[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    body: bytes | str | None = None,
) -> dict:
    """The event API Gateway (payload 2.0) sends for a request on the $default route."""
    from urllib.parse import urlencode

    joined: dict[str, str] = {}
    for name, value in query:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(list(query)),
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https",
                    "x-forwarded-port": "443", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                     "userAgent": "test"},
            "requestId": "r1", "routeKey": "$default", "stage": "$default", "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }  # fmt: skip
    if joined:
        event["queryStringParameters"] = joined
    if cookies:
        event["cookies"] = cookies
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    elif body is not None:
        event["body"] = body
    return event


@pytest.fixture
def lambda_app(strato_app):
    return strato_app(APP)


def call(app, event: dict) -> dict:
    return app.lambda_handler(event, None)


def test_dependency_injection_query_lists_cookies_and_lifespan_state_through_lambda(lambda_app):
    event = apigw_event(
        "GET", "/legacy/whoami", [("tag", "a"), ("tag", "b,c")], {"x-user": "ada"}, cookies=["theme=dark", "lang=en"]
    )
    out = call(lambda_app, event)
    assert out["statusCode"] == 200 and out["isBase64Encoded"] is False
    body = json.loads(out["body"])
    assert body["user"] == "ada" and body["tags"] == ["a", "b,c"]  # from rawQueryString, not the joined form
    assert body["cookies"] == {"theme": "dark", "lang": "en"}
    assert body["greeting"] == "hello from lifespan"
    assert body["path"] == "/legacy/whoami" and body["root_path"] == "/legacy"
    assert body["request_id"] == "r1"  # scope["aws.event"], as Mangum gives it
    again = json.loads(call(lambda_app, apigw_event("GET", "/legacy/whoami"))["body"])
    assert again["starts"] == body["starts"] == 1  # lifespan once per cold start, not per invocation


def test_the_mounted_apps_own_validation_status_and_set_cookies(lambda_app):
    out = call(lambda_app, apigw_event("POST", "/legacy/orders", body='{"sku": "x1", "quantity": 2}',
                                       headers={"content-type": "application/json"}))  # fmt: skip
    assert out["statusCode"] == 201, out
    assert json.loads(out["body"]) == {"user": "anonymous", "total": 2, "sku": "x1"}
    assert sorted(c.split(";")[0] for c in out["cookies"]) == ["last_sku=x1", "session=s1"]
    assert "set-cookie" not in out["headers"]
    bad = call(lambda_app, apigw_event("POST", "/legacy/orders", body='{"sku": "x1"}',
                                       headers={"content-type": "application/json"}))  # fmt: skip
    assert bad["statusCode"] == 422 and json.loads(bad["body"])["detail"][0]["loc"] == ["body", "quantity"]
    denied = call(lambda_app, apigw_event("GET", "/legacy/whoami", headers={"x-user": "banned"}))
    assert denied["statusCode"] == 403 and json.loads(denied["body"]) == {"detail": "banned"}


def test_binary_bodies_travel_base64_both_ways(lambda_app):
    data = bytes(range(256)) * 4
    out = call(lambda_app, apigw_event("POST", "/legacy/binary", body=data))
    assert out["isBase64Encoded"] is True
    assert base64.b64decode(out["body"]) == bytes(reversed(data))


def test_an_error_inside_the_mounted_app_is_a_500_and_the_function_keeps_serving(lambda_app, caplog):
    out = call(lambda_app, apigw_event("GET", "/legacy/boom"))
    assert out["statusCode"] == 500 and "failure inside the mounted app" not in out["body"]
    assert "failure inside the mounted app" in caplog.text  # logged for its author
    assert call(lambda_app, apigw_event("GET", "/native/5"))["body"] == '{"n":5,"native":true}'
    assert call(lambda_app, apigw_event("GET", "/legacy/whoami"))["statusCode"] == 200


def test_streamed_responses_are_buffered_up_to_a_limit(lambda_app):
    out = call(lambda_app, apigw_event("GET", "/legacy/stream", [("chunks", "4"), ("size", "5")]))
    assert out["statusCode"] == 200 and out["body"] == "x" * 20
    mount = lambda_app._http.router.by_key["ANY /legacy/{proxy+}"].meta["mount"]
    mount.max_response = 1000
    over = call(lambda_app, apigw_event("GET", "/legacy/stream", [("chunks", "20"), ("size", "100")]))
    assert over["statusCode"] == 500 and "over 1000 bytes" in over["headers"]["x-strato-error"]


def test_non_latin1_text_in_the_event_reaches_the_app_as_utf8(lambda_app):
    event = apigw_event("GET", "/legacy/whoami", [("tag", "café")], {"x-user": "zoë"}, cookies=["name=Zoë"])
    out = call(lambda_app, event)
    assert out["statusCode"] == 200, out
    assert json.loads(out["body"])["tags"] == ["café"]


def test_unknown_paths_inside_the_prefix_are_the_mounted_apps_404(lambda_app):
    out = call(lambda_app, apigw_event("GET", "/legacy/nope"))
    assert out["statusCode"] == 404 and json.loads(out["body"]) == {"detail": "Not Found"}
    assert call(lambda_app, apigw_event("GET", "/elsewhere"))["statusCode"] == 404


def test_auth_and_groups_on_a_mount_protect_the_whole_prefix(strato_app, client):
    strato_app(APP)
    assert client.get("/admin/users").status == 401
    client.sign_in("lee", groups=["staff"])
    assert client.get("/admin/users").status == 403
    client.sign_in("ada", groups=["admin"])
    assert client.get("/admin/users").json() == {"admin": "ada", "path": "/admin/users"}  # a bare ASGI app


def test_a_mount_prefix_must_be_a_literal_path(strato_app):
    app = strato_app(APP)
    with pytest.raises(ConfigurationError, match="literal path"):
        app._http.mount("/x/{id}", lambda scope, receive, send: None)
    with pytest.raises(ConfigurationError, match="needs an ASGI app"):
        app._http.mount("/y", object())


def test_the_mounted_app_over_real_http_under_strato_dev(dev_server, tmp_path):
    marker = tmp_path / "shutdown"
    server = dev_server(APP, env={"MOUNTED_APP_SHUTDOWN_FILE": str(marker)})
    with httpx.Client(base_url=server.url, timeout=30) as http:
        out = http.get("/legacy/whoami?tag=a&tag=b", headers={"x-user": "lin", "cookie": "theme=dark; lang=en"})
        assert out.status_code == 200, out.text
        body = out.json()
        assert (
            body["user"] == "lin" and body["tags"] == ["a", "b"] and body["cookies"] == {"theme": "dark", "lang": "en"}
        )
        assert body["greeting"] == "hello from lifespan"
        assert http.get("/legacy/whoami").json()["starts"] == 1
        placed = http.post("/legacy/orders", json={"sku": "k", "quantity": 3})
        assert placed.status_code == 201 and placed.cookies["last_sku"] == "k"
        assert len(placed.headers.get_list("set-cookie")) == 2
        assert http.post("/legacy/orders", json={"sku": "k"}).status_code == 422
        data = os.urandom(4096)
        echoed = http.post("/legacy/binary", content=data)
        assert echoed.content == bytes(reversed(data)) and echoed.headers["content-type"] == "application/octet-stream"
        assert http.get("/legacy/boom").status_code == 500
        assert http.get("/legacy/stream?chunks=3&size=4").text == "xxxxxxxxxxxx"
        assert http.get("/native/7").json() == {"n": 7, "native": True}
    assert "failure inside the mounted app" in server.output()
    server.proc.send_signal(signal.SIGINT)  # Ctrl-C: strato dev stops gracefully
    server.proc.wait(30)
    assert marker.read_text() == "stopped", server.output()  # the mounted app's lifespan shut down with it


def test_synth_routes_the_prefix_to_the_one_function_and_passes_cfn_lint(tmp_path):
    out = tmp_path / "template.json"
    result = subprocess.run(
        [sys.executable, "-m", "strato.cli", "synth", APP, "-o", str(out)], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env={**os.environ, "STRATO_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    template = json.loads(out.read_text())
    routes = {
        r["Properties"]["RouteKey"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert routes == {"ANY /legacy", "ANY /legacy/{proxy+}", "ANY /admin", "ANY /admin/{proxy+}", "GET /native/{n}"}
    admin = next(r for r in template["Resources"].values() if r["Properties"].get("RouteKey") == "ANY /admin/{proxy+}")
    assert admin["Properties"]["AuthorizationType"] == "JWT"  # the gateway checks the token for the prefix
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 1
    lint = subprocess.run(["cfn-lint", str(out)], capture_output=True, text=True, timeout=300)
    errors = [line for line in lint.stdout.splitlines() if line[:1] == "E"]
    assert lint.returncode in (0, 4, 8) and not errors, lint.stdout


def test_djangos_asgi_handler_mounted_through_lambda(strato_app, caplog):
    app = strato_app("tests/apps/django_mounted_app.py")
    event = apigw_event("GET", "/shop/items/", [("tag", "a"), ("tag", "b")], cookies=["theme=dark"])
    out = call(app, event)
    assert out["statusCode"] == 200, out
    assert json.loads(out["body"]) == {
        "tags": ["a", "b"], "theme": "dark", "script_name": "/shop", "path_info": "/items/", "full_path": "/shop/items/"
    }  # fmt: skip
    assert [c.split(";")[0] for c in out["cookies"]] == ["seen=1"]
    data = bytes(range(200))
    echoed = call(app, apigw_event("POST", "/shop/upload/", body=data))
    assert echoed["isBase64Encoded"] and base64.b64decode(echoed["body"]) == data[::-1]
    assert call(app, apigw_event("GET", "/shop/broken/"))["statusCode"] == 500  # Django's own 500 page
    assert call(app, apigw_event("GET", "/shop/items/"))["statusCode"] == 200
