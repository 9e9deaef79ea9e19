"""Cold start: a fresh Python process that imports an HTTP-only app and handles one API Gateway
event, for a bare handler, strato and Chalice (median of repeated runs, same interpreter)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from .support import ROOT, Row

BODY = json.dumps({"title": "hello"})
V2 = {"version": "2.0", "routeKey": "POST /notes", "rawPath": "/notes", "rawQueryString": "",
      "headers": {"content-type": "application/json"}, "body": BODY, "isBase64Encoded": False,
      "requestContext": {"http": {"method": "POST", "path": "/notes", "sourceIp": "1.2.3.4"}, "stage": "$default",
                         "routeKey": "POST /notes", "requestId": "r"}}
V1 = {"resource": "/notes", "path": "/notes", "httpMethod": "POST", "headers": {"content-type": "application/json"},
      "multiValueHeaders": {"content-type": ["application/json"]}, "queryStringParameters": None,
      "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
      "requestContext": {"resourcePath": "/notes", "httpMethod": "POST", "path": "/api/notes", "stage": "api",
                         "identity": {"sourceIp": "1.2.3.4"}, "requestId": "r"},
      "body": BODY, "isBase64Encoded": False}

SCRIPT = """
import sys, json
sys.path[:0] = [{src!r}, {apps!r}]
import {module} as m
out = m.handler(json.loads({event!r}), None)
assert out["statusCode"] in (200, 201), out
"""


def _time(module: str, event: dict, runs: int) -> float:
    code = SCRIPT.format(src=str(ROOT / "src"), apps=str(ROOT / "benchmarks" / "apps"), module=module,
                         event=json.dumps(event))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_FUNCTION_NAME": "cold",
           "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)  # compile caches warm
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run(quick: bool = False) -> list[Row]:
    runs = 7 if quick else 21
    bare = _time("cold_bare", V2, runs)
    strato_ms = _time("cold_strato", V2, runs)
    rows = [Row("cold start", "strato vs bare handler", strato_ms, bare, "bare handler", "ms", higher_is_better=False)]
    try:
        import chalice  # noqa: F401
    except ImportError:
        print("skipping the Chalice baseline: pip install chalice")
        return rows
    chalice_ms = _time("cold_chalice", V1, runs)
    rows.append(Row("cold start", "strato vs Chalice", strato_ms, chalice_ms, "Chalice", "ms", "≥ 1x (no slower)",
                    higher_is_better=False))
    return rows
