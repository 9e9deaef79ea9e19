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
V2 = {
    "version": "2.0",
    "routeKey": "POST /notes",
    "rawPath": "/notes",
    "rawQueryString": "",
    "headers": {"content-type": "application/json"},
    "body": BODY,
    "isBase64Encoded": False,
    "requestContext": {
        "http": {"method": "POST", "path": "/notes", "sourceIp": "1.2.3.4"},
        "stage": "$default",
        "routeKey": "POST /notes",
        "requestId": "r",
    },
}
V1 = {
    "resource": "/notes",
    "path": "/notes",
    "httpMethod": "POST",
    "headers": {"content-type": "application/json"},
    "multiValueHeaders": {"content-type": ["application/json"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "resourcePath": "/notes",
        "httpMethod": "POST",
        "path": "/api/notes",
        "stage": "api",
        "identity": {"sourceIp": "1.2.3.4"},
        "requestId": "r",
    },
    "body": BODY,
    "isBase64Encoded": False,
}

SCRIPT = """
import sys, json
sys.path[:0] = [{src!r}, {apps!r}]
import {module} as m
out = m.handler(json.loads({event!r}), None)
assert out["statusCode"] in (200, 201), out
"""


def _command(module: str, event: dict) -> list[str]:
    code = SCRIPT.format(
        src=str(ROOT / "src"), apps=str(ROOT / "benchmarks" / "apps"), module=module, event=json.dumps(event)
    )
    return [sys.executable, "-c", code]


def run(quick: bool = False) -> list[Row]:
    """Median wall time per variant; variants alternate run by run so machine drift hits all alike."""
    variants = {"bare": _command("cold_bare", V2), "strato": _command("cold_strato", V2)}
    try:
        import chalice  # noqa: F401

        variants["chalice"] = _command("cold_chalice", V1)
    except ImportError:
        print("skipping the Chalice baseline: pip install chalice")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_FUNCTION_NAME": "cold"}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for command in variants.values():
        subprocess.run(command, check=True, env=env)  # bytecode caches warm, as in a deployed zip
    for _ in range(9 if quick else 31):
        for name, command in variants.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, env=env)
            samples[name].append((time.perf_counter() - start) * 1000)
    ms = {name: statistics.median(values) for name, values in samples.items()}
    rows = [
        Row(
            "cold start",
            "strato vs bare handler",
            ms["strato"],
            ms["bare"],
            "bare handler",
            "ms",
            higher_is_better=False,
        )
    ]
    if "chalice" in ms:
        rows.append(
            Row(
                "cold start",
                "strato vs Chalice",
                ms["strato"],
                ms["chalice"],
                "Chalice",
                "ms",
                "≥ 1x (no slower)",
                higher_is_better=False,
            )
        )
    return rows
