"""The Lambda entry point on saved API Gateway events, in-process and through `strato invoke`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from strato.events import kind_of
from strato.events.apigw_http import http_event

ROOT = Path(__file__).resolve().parent.parent
EVENT = ROOT / "tests" / "events" / "http_post_note.json"


@pytest.fixture
def notes_app(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STRATO_PROVIDER", "local")
    from strato.loader import load_app

    app = load_app(str(ROOT / "examples" / "notes" / "app.py"))
    yield app
    app.close()


def test_saved_aws_event_runs_through_lambda_handler(notes_app):
    event = json.loads(EVENT.read_text())
    assert kind_of(event) == "http"
    out = notes_app.lambda_handler(event, None)
    assert out["statusCode"] == 201 and out["isBase64Encoded"] is False
    assert out["headers"]["content-type"] == "application/json"
    note = json.loads(out["body"])
    assert note["title"] == "from lambda" and note["owner"] == "ana"


def test_default_route_key_is_matched_by_path(notes_app):
    event = json.loads(EVENT.read_text())
    notes_app.lambda_handler(event, None)
    get = http_event(
        method="GET",
        raw_path="/notes",
        raw_query="limit=5",
        headers=[("x-user-id", "ana")],
        body=b"",
        source_ip="1.2.3.4",
        route_key="$default",
        path_parameters=None,
        domain="x",
    )
    out = notes_app.lambda_handler(get, None)
    assert out["statusCode"] == 200 and len(json.loads(out["body"])["items"]) == 1
    missing = {**get, "rawPath": "/nowhere"}
    assert notes_app.lambda_handler(missing, None)["statusCode"] == 404


def test_unknown_event_kind_is_a_clear_error(notes_app):
    import strato

    with pytest.raises(strato.ConfigurationError, match="cannot handle"):
        notes_app.lambda_handler({"hello": "world"}, None)


def test_strato_invoke_prints_the_lambda_response(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "strato.cli", "invoke", "examples/notes/app.py", str(EVENT), "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**__import__("os").environ, "STRATO_PROVIDER": "local"},
    )
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)
    assert response["statusCode"] == 201 and json.loads(response["body"])["title"] == "from lambda"


def test_strato_invoke_rejects_bad_input(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = subprocess.run(
        [sys.executable, "-m", "strato.cli", "invoke", "examples/notes/app.py", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode != 0 and "not valid JSON" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "strato.cli", "invoke", "nope/missing.py", str(EVENT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode != 0 and "no such file" in out.stderr


COLD = """
import sys, json
sys.path.insert(0, {root!r})
from strato.loader import load_app
app = load_app({app!r})
event = json.load(open({event!r}))
out = app.lambda_handler(event, None)
heavy = sorted(m for m in ("boto3", "botocore", "starlette", "uvicorn", "anyio", "sqlite3", "asyncio")
               if m in sys.modules)
print(json.dumps({{"status": out["statusCode"], "heavy": heavy}}))
"""


def test_cold_start_of_an_http_only_app_imports_no_heavy_modules(tmp_path):
    app_file = tmp_path / "hello.py"
    app_file.write_text(
        "import strato\napp = strato.App('hello')\napi = app.http()\n"
        "@api.post('/notes')\ndef create(req):\n    return 201, {'got': req.json()}\n"
    )
    code = COLD.format(root=str(ROOT / "src"), app=str(app_file), event=str(EVENT))
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": "hello"},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result == {"status": 201, "heavy": []}
