"""Typed handlers (strato.http.typed): path, query and body parameters converted and validated by their
annotations, a 422 with pydantic's error list in one documented shape, response models, and pydantic
loaded only by apps that use a model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import strato
from strato.core.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.strato_app("tests/apps/typed_app.py")


def test_a_model_body_typed_path_and_query_parameters_and_a_returned_model(client):
    out = client.post("/items/3?dry_run=yes", json={"name": "lamp", "price": 12.5, "tags": ["a", "b"]})
    assert out.status == 200, out.text
    assert out.headers["content-type"] == "application/json"
    assert out.json() == {"itemId": 302, "name": "lamp (dry)", "price": 12.5, "note": None}  # by alias


def test_validation_failures_are_one_422_listing_every_error(client):
    out = client.post("/items/shelf?dry_run=perhaps", json={"name": "", "price": -1})
    assert out.status == 422
    body = out.json()
    assert body["message"] == "Request validation failed" and body["code"] == "RequestValidationError"
    assert {tuple(e["loc"]): e["type"] for e in body["errors"]} == {
        ("path", "shelf"): "int_parsing",
        ("body", "name"): "string_too_short",
        ("body", "price"): "greater_than",
        ("query", "dry_run"): "bool_parsing",
    }
    assert all(set(e) == {"type", "loc", "msg"} for e in body["errors"])  # no input echoed back


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (None, {"type": "missing", "loc": ["body"], "msg": "Field required"}),
        ("{not json", {"type": "json_invalid", "loc": ["body"]}),
        ("[1, 2]", {"type": "model_type", "loc": ["body"]}),
    ],
)
def test_a_missing_malformed_or_wrong_body_is_a_422_not_a_500(client, body, error):
    out = client.post("/items/1", body=body) if body is not None else client.post("/items/1")
    assert out.status == 422, out.text
    assert [{k: e[k] for k in error} for e in out.json()["errors"]] == [error]


def test_query_lists_optionals_and_defaults(client):
    assert client.get("/items/7").json() == {"itemId": 7, "name": "limit=10 fields=None", "price": 1.5}
    out = client.get("/items/7", query=[("fields", "a"), ("fields", "b"), ("limit", "3")])
    assert out.json()["name"] == "limit=3 fields=['a', 'b']"
    bad = client.get("/items/7", query=[("limit", "x"), ("fields", "ok")])
    assert [(e["loc"], e["type"]) for e in bad.json()["errors"]] == [(["query", "limit"], "int_parsing")]


def test_exclude_none_and_a_result_that_breaks_its_response_model_is_a_500(client):
    assert "note" not in client.get("/items/1").json()  # exclude_none=True on that route
    out = client.get("/items/13")
    assert out.status == 500 and out.json() == {"message": "Internal Server Error"}


def test_async_handlers_and_required_query_parameters(client):
    assert client.get("/scale", query={"x": "1.5", "exact": "true"}).json() == {"value": 3.0, "exact": True}
    out = client.get("/scale")
    assert out.status == 422
    assert out.json()["errors"] == [{"type": "missing", "loc": ["query", "x"], "msg": "Field required"}]


def test_other_types_are_validated_by_pydantic(client):
    order = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
    assert client.get(f"/orders/{order}").json() == {"order": order, "version": 4}
    out = client.get("/orders/not-a-uuid")
    assert out.status == 422 and out.json()["errors"][0]["loc"] == ["path", "order_id"]
    assert out.json()["errors"][0]["type"] == "uuid_parsing"


def test_plain_handlers_are_unchanged(client):
    assert client.get("/plain/42").json() == {"name": "42", "type": "str", "unused": 3}


def test_the_authorizer_runs_before_validation(client):
    assert client.post("/secured", json={}).status == 401
    client.sign_in("ada", groups=["admin"])
    assert client.post("/secured", json={}).status == 422
    assert client.post("/secured", json={"name": "n", "price": 1}).json()["itemId"] == 1


def test_declaration_errors_name_the_route_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path))
    api = strato.App("bad").http()
    from pydantic import BaseModel

    class A(BaseModel):
        x: int

    with pytest.raises(ConfigurationError, match="only one parameter can be read from the body"):

        @api.post("/two")
        def two(req, a: A, b: A):
            return None

    with pytest.raises(ConfigurationError, match="does not resolve"):

        @api.get("/later")
        def later(req, thing: Missing):  # noqa: F821 - an annotation that does not resolve
            return None


SCRIPT = """
import json, sys
sys.path[:0] = [{src!r}, {apps!r}]
import {module} as m
event = {{"version": "2.0", "routeKey": "$default", "rawPath": "/pages/2", "rawQueryString": "draft=1",
         "queryStringParameters": {{"draft": "1"}},
         "headers": {{}}, "requestContext": {{"http": {{"method": "GET", "path": "/pages/2", "sourceIp": "1.1.1.1"}}}},
         "isBase64Encoded": False}}
out = m.app.lambda_handler(event, None)
print(json.dumps({{"body": out["body"], "pydantic": "pydantic" in sys.modules}}))
"""


@pytest.mark.parametrize(("module", "loads"), [("scalars_app", False), ("typed_app", True)])
def test_pydantic_is_imported_only_by_apps_with_models(module, loads, tmp_path):
    code = SCRIPT.format(src=str(ROOT / "src"), apps=str(ROOT / "tests" / "apps"), module=module)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "STRATO_DATA_DIR": str(tmp_path), "AWS_LAMBDA_FUNCTION_NAME": "cold"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["pydantic"] is loads
    if module == "scalars_app":
        assert json.loads(result["body"]) == {"page": 2, "size": 20, "draft": True}


def test_enums_and_dates_from_text_and_models_nested_in_a_plain_result(client):
    out = client.get("/paint/2", query={"on": "2024-01-02"})
    assert out.json() == {
        "color": "GREEN", "on": "2024-01-02", "items": [{"itemId": 1, "name": "brush", "price": 2.0, "note": None}]
    }  # fmt: skip
    bad = client.get("/paint/9", query={"on": "someday"})
    assert [(e["loc"], e["type"]) for e in bad.json()["errors"]] == [
        (["path", "color"], "enum"),
        (["query", "on"], "date_from_datetime_parsing"),
    ]


def test_an_async_handler_returning_status_model_and_headers(client):
    out = client.put("/items/4", json={"name": "cup", "price": 3})
    assert out.status == 201 and out.headers["x-replaced"] == "yes"
    assert out.json() == {"itemId": 4, "name": "cup", "price": 3.0, "note": None}
    assert client.put("/items/4", json={"name": "cup"}).json()["errors"][0]["loc"] == ["body", "price"]


def test_annotated_constraints_and_optional_lists_of_other_types(client):
    a, b = "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "6fa459ea-ee8a-3ca4-894e-db77e160355e"
    assert client.get("/batch", query=[("ids", a), ("ids", b), ("top", "3")]).json() == {"ids": [a, b], "top": 3}
    assert client.get("/batch").json() == {"ids": [], "top": 1}
    bad = client.get("/batch", query=[("ids", a), ("ids", b), ("ids", a), ("top", "0")])
    assert [(e["loc"], e["type"]) for e in bad.json()["errors"]] == [
        (["query", "ids"], "too_long"),
        (["query", "top"], "greater_than"),
    ]
