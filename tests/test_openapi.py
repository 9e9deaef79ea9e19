"""The OpenAPI 3.1 document: ``strato openapi APP`` and ``/_strato/openapi.json`` under ``strato dev``,
validated with openapi-spec-validator; the Swagger UI page served from vendored files only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent


def openapi_cli(app: str, tmp_path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "strato.cli", "openapi", app], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "STRATO_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def typed_doc(tmp_path_factory) -> dict:
    return openapi_cli("tests/apps/typed_app.py", tmp_path_factory.mktemp("openapi"))


def test_the_document_is_valid_openapi_3_1(typed_doc):
    validate(typed_doc)
    assert typed_doc["openapi"] == "3.1.0" and typed_doc["info"]["title"] == "typed"


def test_parameters_bodies_and_responses_come_from_the_annotations(typed_doc):
    create = typed_doc["paths"]["/items/{shelf}"]["post"]
    assert create["summary"] == "Put an item on a shelf" and create["tags"] == ["items"]
    assert create["description"] == "Create an item."
    params = {(p["in"], p["name"]): p for p in create["parameters"]}
    assert params["path", "shelf"]["schema"] == {"type": "integer"}
    assert params["query", "dry_run"] == {
        "name": "dry_run", "in": "query", "required": False, "schema": {"type": "boolean", "default": False}
    }  # fmt: skip
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/NewItem"}
    ok = create["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Item"}
    assert "itemId" in typed_doc["components"]["schemas"]["Item"]["properties"]  # the serialisation alias
    assert create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("StratoValidationError")
    read = typed_doc["paths"]["/items/{item_id}"]["get"]
    fields = next(p for p in read["parameters"] if p["name"] == "fields")
    assert fields["schema"] == {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]}
    order = typed_doc["paths"]["/orders/{order_id}"]["get"]["parameters"][0]
    assert order["schema"] == {"format": "uuid", "type": "string"}  # from pydantic's TypeAdapter


def test_auth_and_groups_become_security_and_error_responses(typed_doc):
    secured = typed_doc["paths"]["/secured"]["post"]
    assert secured["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "422"} <= set(secured["responses"])
    assert "admin" in secured["description"]
    assert typed_doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "security" not in typed_doc["paths"]["/plain/{name}"]["get"]


def test_a_mounted_fastapi_app_contributes_its_paths_under_the_prefix(tmp_path):
    doc = openapi_cli("tests/apps/mounted_app.py", tmp_path)
    validate(doc)
    assert {"/legacy/whoami", "/legacy/orders", "/native/{n}"} <= set(doc["paths"])
    assert "Order" in doc["components"]["schemas"]
    admin = doc["paths"]["/admin/{proxy}"]["get"]  # a bare ASGI app: one catch-all, secured as mounted
    assert admin["security"] == [{"bearerAuth": []}] and "bearerAuth" in doc["components"]["securitySchemes"]


def test_strato_dev_serves_the_document_and_a_swagger_ui_without_a_cdn(dev_server):
    server = dev_server("tests/apps/typed_app.py")
    with httpx.Client(base_url=server.url, timeout=30) as http:  # no internal secret: these are public
        doc = http.get("/_strato/openapi.json")
        assert doc.status_code == 200
        validate(doc.json())
        assert "/items/{shelf}" in doc.json()["paths"]
        page = http.get("/_strato/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/_strato/docs/") for s in sources), sources  # nothing remote
        for source in sources:
            asset = http.get(source)
            assert asset.status_code == 200 and len(asset.content) > 100, source
        assert "validatorUrl: null" in http.get("/_strato/docs/init.js").text  # no call to validator.swagger.io
        assert http.get("/_strato/docs/..%2Fguard.py").status_code == 403  # not a name the guard lets through
        assert http.get("/_strato/docs/guard.py").status_code == 404  # only the vendored assets are served
        assert http.get("/_strato/routes").status_code == 403  # other internal endpoints keep their secret
        assert http.get("/_strato/docs", headers={"host": "evil.example"}).status_code == 403  # DNS rebinding
        # the routes it documents, over the wire: converted, validated, serialised
        assert http.post("/items/2", json={"name": "a", "price": 1}).json()["itemId"] == 200
        bad = http.post("/items/x", content=b"{", headers={"content-type": "application/json"})
        assert bad.status_code == 422 and [e["loc"] for e in bad.json()["errors"]] == [["path", "shelf"], ["body"]]
