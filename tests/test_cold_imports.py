"""What a Lambda cold start imports, pinned: a fresh interpreter imports a benchmark app and handles one
API Gateway event, then reports ``sys.modules``. A change that puts boto3, typing, dataclasses or another
kind's modules back on the path fails here; ``python -m benchmarks.run --only coldstart`` says what it costs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.bench_coldstart import V2

ROOT = Path(__file__).resolve().parent.parent
EVENT = V2  # the cold-start benchmark's event: POST /notes with a JSON body
# -S: no site-packages .pth side effects; the first line is what the Lambda runtime (awslambdaric's bootstrap,
# log utils, marshaller and runtime client) has already imported
SCRIPT = """
import importlib, json, logging, os, sys, time, traceback, datetime, enum, decimal, math, concurrent.futures.thread
sys.path[:0] = [{src!r}, {apps!r}]
before = set(sys.modules)
import {module} as m
out = m.handler(json.loads({event!r}), None)
print(json.dumps({{"status": out["statusCode"], "added": sorted(set(sys.modules) - before)}}))
"""
#: never on a cold start, whatever the app declares (boto3 loads when a resource is first used)
NEVER = {
    "boto3",
    "botocore",
    "redis",
    "psycopg",
    "sqlite3",
    "asyncio",
    "starlette",
    "uvicorn",
    "anyio",
    "typing",
    "dataclasses",
    "inspect",
    "pathlib",
    "hashlib",
    "datetime",
    "calendar",
    "urllib",
    "ipaddress",
    "base64",
    "strawberry",  # an app without app.graphql never loads GraphQL
    "graphql",
    "jsonata",  # JSONata workflow states load it when one runs locally, never in a Lambda
    "opentelemetry",  # OpenTelemetry export loads only in an app that calls strato.trace.otel.enable()
}
#: the whole of a tiny HTTP app's cold start: App, the HTTP facade, the entry and its dispatcher
TINY = {
    "__future__",
    "strato",
    "strato.app",
    "strato.production",  # App's production methods (a mixin importing nothing until called)
    "strato.interactive",  # App's HTTP / WebSocket / GraphQL / site / auth declarations (a mixin, likewise)
    "strato.core",
    "strato.core.config",
    "strato.core.context",
    "strato.core.errors",
    "strato.core.usage",
    "strato.registry",
    "strato.http",
    "strato.http.cors",
    "strato.http.request",
    "strato.http.response",
    "strato.http.routing",
    "strato.entry",
    "strato.events",
    "strato.dispatch",
    "strato.dispatch.base",
    "strato.dispatch.http",
    "strato.http.route_index",
}


def cold_start(module: str) -> set[str]:
    code = SCRIPT.format(
        src=str(ROOT / "src"), apps=str(ROOT / "benchmarks" / "apps"), module=module, event=json.dumps(EVENT)
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": "cold"},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == 201
    return {m for m in result["added"] if m != module}


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_a_tiny_http_app_imports_only_what_it_runs():
    added = cold_start("cold_strato")
    assert added == TINY, f"new on the cold path: {sorted(added - TINY)}; gone: {sorted(TINY - added)}"


@pytest.mark.parametrize("module", ["cold_strato", "cold_all"])
def test_no_heavy_module_on_the_cold_path(module):
    added = cold_start(module)
    assert not (_top(added) | added) & NEVER, sorted((_top(added) | added) & NEVER)


def test_an_app_declaring_every_primitive_loads_no_provider():
    added = cold_start("cold_all")
    providers = {m for m in added if m.rsplit(".", 1)[-1] in ("local", "aws", "redis", "postgres", "sqlite", "dynamo")}
    assert not providers, sorted(providers)
    assert not {m for m in added if m.startswith(("strato.local", "strato.deploy"))}
    assert {"strato.table", "strato.queue", "strato.topic", "strato.auth"} <= added  # it did declare them


def test_public_names_still_resolve():
    code = (
        "import strato, json; from strato import App, Page, Sort, PasswordPolicy, Cors, new_id; "
        "names = [n for n in strato.__all__ if getattr(strato, n, None) is None]; "
        "print(json.dumps([names, strato.queue.Message.__name__]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [[], "Message"]
