"""Cold start: a fresh Python process that imports an app and handles one API Gateway event.

Variants: a bare handler, a tiny strato HTTP app (cold_strato), a strato app declaring every
primitive (cold_all) and Chalice. Each run is ``python -S``: this machine's ``site`` executes ``.pth``
files that import certifi, ``typing`` and ``pathlib`` before any user code, which a Lambda runtime
does not, and which would hide what strato imports; third-party packages are reached by appending
site-packages to ``sys.path`` (no ``.pth`` runs). Every variant first imports what the Lambda
Python runtime has loaded before it imports a handler (its bootstrap: logging, json, os, ...).
Variants alternate run by run, and each gets the median wall time and the median CPU time (user +
system, from ``wait4``: less sensitive than wall time to the other processes on a shared machine).
One more run per variant lists the modules the import + the event added: strato, third-party, stdlib;
with valgrind installed, one more counts the instructions a cold start executes (noise-free ratios).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
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

# What the Lambda Python runtime has imported before it loads a handler (awslambdaric: bootstrap.py
# importlib, json, logging, os, sys, time, traceback; its log utils datetime and enum; its marshaller
# decimal, math (and simplejson); its runtime client concurrent.futures' ThreadPoolExecutor): in every
# variant, before the snapshot.
SCRIPT = """
import importlib, json, logging, os, sys, time, traceback, datetime, enum, decimal, math, concurrent.futures.thread
sys.path[:0] = [{src!r}, {apps!r}]
sys.path += {site!r}
before = set(sys.modules)
import {module} as m
out = m.handler(json.loads({event!r}), None)
assert out["statusCode"] in (200, 201), out
if {listing!r}:
    print(json.dumps(sorted(set(sys.modules) - before)))
"""
VARIANTS = {"bare": ("cold_bare", V2), "strato": ("cold_strato", V2), "every primitive": ("cold_all", V2)}
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_FUNCTION_NAME": "cold"}


def _command(module: str, event: dict, listing: bool = False) -> list[str]:
    code = SCRIPT.format(
        src=str(ROOT / "src"),
        apps=str(ROOT / "benchmarks" / "apps"),
        site=[*site.getsitepackages(), site.getusersitepackages()],
        module=module,
        event=json.dumps(event),
        listing=listing,
    )
    return [sys.executable, "-S", "-c", code]


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, command[:3])
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def imports(module: str, event: dict) -> dict[str, list[str]]:
    """The modules importing ``module`` and handling ``event`` adds, by origin."""
    out = subprocess.run(_command(module, event, listing=True), env=ENV, capture_output=True, text=True, check=True)
    added = [m for m in json.loads(out.stdout) if m != module]
    top = {m: m.split(".")[0] for m in added}
    stdlib = sys.stdlib_module_names
    return {
        "strato": [m for m in added if top[m] == "strato"],
        "third-party": [
            m for m in added if top[m] != "strato" and top[m].lstrip("_") not in stdlib and top[m] not in stdlib
        ],
        "stdlib": [m for m in added if top[m] in stdlib or top[m].lstrip("_") in stdlib],
    }


def instructions(command: list[str]) -> int | None:
    """Instructions one cold start executes (valgrind callgrind, fixed hash seed): the same number on a
    quiet or a busy machine, so it shows what wall times on a shared one cannot. None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env={**ENV, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    return int(found.group(1)) if found else None


def print_imports(name: str, lists: dict[str, list[str]]) -> None:
    print(f"cold start imports, {name}:", file=sys.stderr)
    for origin, modules in lists.items():
        print(f"  {origin} ({len(modules)}): {' '.join(modules) or '-'}", file=sys.stderr)


def run(quick: bool = False) -> list[Row]:
    """Median wall and CPU time per variant; variants alternate run by run so drift hits all alike."""
    variants = {name: _command(module, event) for name, (module, event) in VARIANTS.items()}
    try:
        import chalice  # noqa: F401

        variants["chalice"] = _command("cold_chalice", V1)
    except ImportError:
        print("skipping the Chalice baseline: pip install chalice")
    for name, (module, event) in VARIANTS.items():
        if name != "bare":
            print_imports(name, imports(module, event))
    for command in variants.values():
        _timed(command)  # bytecode caches warm, as in a deployed zip
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(15 if quick else 61):
        for name, command in variants.items():
            w, c = _timed(command)
            wall[name].append(w)
            cpu[name].append(c)
    ms = {name: statistics.median(values) for name, values in wall.items()}
    cpu_ms = {name: statistics.median(values) for name, values in cpu.items()}
    print(
        "cold start medians, ms wall / cpu: "
        + ", ".join(f"{name} {ms[name]:.1f} / {cpu_ms[name]:.1f}" for name in variants)
        + f"; strato - bare: {ms['strato'] - ms['bare']:+.1f} wall, {cpu_ms['strato'] - cpu_ms['bare']:+.1f} cpu",
        file=sys.stderr,
    )
    counted = {name: instructions(variants[name]) for name in VARIANTS}
    ir = {name: n for name, n in counted.items() if n} if all(counted.values()) else {}
    extra = {name: (ir[name] - ir["bare"]) / ir["bare"] * ms["bare"] for name in ir}
    if ir:
        print(
            "cold start instructions (callgrind): "
            + ", ".join(f"{name} {ir[name] / 1e6:.1f} M" for name in VARIANTS)
            + f"; at the bare handler's {ms['bare']:.1f} ms that is strato +{extra['strato']:.1f} ms,"
            f" every primitive +{extra['every primitive']:.1f} ms",
            file=sys.stderr,
        )
    rows = [
        Row("cold start", "strato vs bare handler, wall", ms["strato"], ms["bare"], "bare handler", "ms",
            f"≤ bare + 3 ms ({ms['strato'] - ms['bare']:+.1f})", higher_is_better=False),
        Row("cold start", "strato vs bare handler, cpu", cpu_ms["strato"], cpu_ms["bare"], "bare handler", "ms",
            f"≤ bare + 3 ms ({cpu_ms['strato'] - cpu_ms['bare']:+.1f})", higher_is_better=False),
        Row("cold start", "every-primitive app vs tiny app, wall", ms["every primitive"], ms["strato"],
            "tiny strato app", "ms", "≥ 0.77x (≤ 1.3x the tiny app)", higher_is_better=False),
        Row("cold start", "every-primitive app vs tiny app, cpu", cpu_ms["every primitive"], cpu_ms["strato"],
            "tiny strato app", "ms", "≥ 0.77x (≤ 1.3x the tiny app)", higher_is_better=False),
    ]  # fmt: skip
    if ir:
        rows += [
            Row("cold start", "strato vs bare handler, instructions", ir["strato"] / 1e6, ir["bare"] / 1e6,
                "bare handler", "M", f"≤ bare + 3 ms ({extra['strato']:+.1f} ms at bare's speed)",
                higher_is_better=False),
            Row("cold start", "every-primitive app vs tiny app, instructions", ir["every primitive"] / 1e6,
                ir["strato"] / 1e6, "tiny strato app", "M", "≥ 0.77x (≤ 1.3x the tiny app)",
                higher_is_better=False),
        ]  # fmt: skip
    if "chalice" in ms:
        rows.append(
            Row(
                "cold start",
                "strato vs Chalice, wall",
                ms["strato"],
                ms["chalice"],
                "Chalice",
                "ms",
                "≥ 1x (no slower)",
                higher_is_better=False,
            )
        )
    return rows
