"""Peers (``python -m benchmarks.run --peers``): the same tiny app on `strato dev`, serverless-offline
(serverless v3, DynamoDB on dynalite) and Architect sandbox: GET JSON, a table put + get per request
(wrk, 10 connections) and a WebSocket broadcast to 1,000 clients (delivery p95; clients in separate
processes, benchmarks/ws_fleet.py).

The peers come from npm into a cache folder outside the repo (benchmarks/peers/install.sh; the folder is
``$STRATO_PEERS_DIR`` or ~/.cache/strato-bench/peers) and run offline: fake credentials, no AWS call.
Their app code (benchmarks/peers/serverless, benchmarks/peers/architect) is copied there so Node finds
the installed packages. Without the packages the suite prints why and how to install, and returns no rows.
Targets run one after the other (a peer's Lambda processes would disturb the others); the ratios span
orders of magnitude, far beyond the machine's noise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .support import FAKE_AWS, ROOT, Row, fake_aws, free_port, process
from .ws_fleet import Fleet, raise_nofile

PEERS_DIR = Path(os.environ.get("STRATO_PEERS_DIR", Path.home() / ".cache" / "strato-bench" / "peers"))
APPS = ROOT / "benchmarks" / "peers"
INSTALL = "sh benchmarks/peers/install.sh"
LUA = str(ROOT / "benchmarks" / "apps" / "p95.lua")
CLIENTS = 1000


@dataclass
class Target:
    """A running server of the tiny app: where its HTTP routes and its WebSocket are."""

    name: str
    http: str
    ws: str
    connect_batch: int  # WebSocket upgrades opened at once: a Lambda process per $connect needs few
    results: dict[str, float] = field(default_factory=dict)


def missing() -> str | None:
    """Why the suite cannot run here, or None."""
    for tool in ("node", "wrk"):
        if not shutil.which(tool):
            return f"{tool} is not on PATH"
    for binary in ("sls", "sandbox", "dynalite"):
        if not (PEERS_DIR / "node_modules" / ".bin" / binary).exists():
            return f"{binary} is not installed in {PEERS_DIR}"
    return None


@contextmanager
def _spawn(args: list[str], port: int, cwd: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    """A server process until the block ends; killed if it ignores SIGTERM (serverless-offline does, when busy)."""
    with process(args, port, {**FAKE_AWS, **(env or {})}, cwd=cwd, timeout=90, new_session=True):
        yield


def _ready(url: str, timeout: float = 90) -> None:
    """Wait until the app answers its GET JSON route (peers open their port before their routes work)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def _app_dir(name: str) -> Path:
    """The peer's app, copied next to the installed node_modules so `require` finds them."""
    target = PEERS_DIR / "apps" / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(APPS / name, target)
    return target


@contextmanager
def _strato() -> Iterator[Target]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, "-m", "strato.cli", "dev", "benchmarks/peers/strato_app.py", "--port", str(port)]
        with _spawn([*args, "--data", tmp, "--log-level", "warning"], port, ROOT):
            yield Target("Strato dev", f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/live", 100)


def _dynalite_tables(endpoint: str) -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    for table in ("items", "conns"):
        client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


@contextmanager
def _serverless() -> Iterator[Target]:
    bin_dir = PEERS_DIR / "node_modules" / ".bin"
    db, http, ws, lambda_port = free_port(), free_port(), free_port(), free_port()
    with _spawn([str(bin_dir / "dynalite"), "--port", str(db)], db, PEERS_DIR):
        with fake_aws():
            _dynalite_tables(f"http://127.0.0.1:{db}")
        env = {
            "DYNAMO_ENDPOINT": f"http://127.0.0.1:{db}",
            "WS_ENDPOINT": f"http://127.0.0.1:{ws}",
            "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off",
        }
        args = [str(bin_dir / "sls"), "offline", "start", "--httpPort", str(http), "--websocketPort", str(ws)]
        with _spawn([*args, "--lambdaPort", str(lambda_port)], http, _app_dir("serverless"), env):
            yield Target("Serverless offline", f"http://127.0.0.1:{http}", f"ws://127.0.0.1:{ws}/", 5)


@contextmanager
def _architect() -> Iterator[Target]:
    http = free_port()
    env = {f"ARC_{name}_PORT": str(free_port()) for name in ("TABLES", "EVENTS", "INTERNAL")}
    args = [str(PEERS_DIR / "node_modules" / ".bin" / "sandbox"), "--port", str(http)]
    with _spawn(args, http, _app_dir("architect"), {**env, "ARC_QUIET": "1"}):
        yield Target("Architect sandbox", f"http://127.0.0.1:{http}", f"ws://127.0.0.1:{http}/", 5)


def _wrk(url: str, seconds: int) -> tuple[float, int]:
    """(requests/s, failed requests) at 10 connections, after warming up at the same concurrency until
    the rate stops climbing (peers start a Lambda worker per concurrent request, seconds each when cold)."""
    previous = 0.0
    for attempt in range(8):  # measured: serverless-offline took 12 s to warm GET JSON, 9 s for its first table call
        rate, _ = _wrk_once(url, 3)
        if attempt >= 2 and 0 < rate < previous * 1.2:
            break
        previous = rate
    return _wrk_once(url, seconds)


def _wrk_once(url: str, seconds: int) -> tuple[float, int]:
    out = subprocess.run(
        ["wrk", "-t2", "-c10", f"-d{seconds}s", "--timeout", "30s", "-s", LUA, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps, _p50, _p95, bad_status, socket_errors = next(x for x in out.splitlines() if x.startswith("RESULT")).split()[1:]
    return float(rps), int(bad_status) + int(socket_errors)


def _broadcast_p95(target: Target, rounds: int) -> float:
    """p95 delivery latency (ms) of ``rounds`` broadcasts to ``CLIENTS`` clients: the app stamps the time
    when its handler starts, each client process the arrival."""
    from websockets.sync.client import connect

    with Fleet(target.ws, CLIENTS, batch=target.connect_batch) as fleet:
        if fleet.count < CLIENTS:
            print(f"peers: {target.name} accepted {fleet.count} of {CLIENTS} WebSocket clients")
        latencies: list[float] = []
        lost = 0
        with connect(target.ws, max_size=None, open_timeout=60) as control:
            for _ in range(rounds):
                time.sleep(0.2)
                control.send('{"action": "blast"}')
                delivered = fleet.collect()
                latencies += delivered
                lost += fleet.count - len(delivered)
        if lost:
            print(f"peers: {target.name} lost {lost} of {fleet.count * rounds} WebSocket deliveries")
    ordered = sorted(latencies)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)] if ordered else float("nan")


def _measure(start, quick: bool) -> Target:
    with start() as target:
        _ready(f"{target.http}/hello/world")
        seconds = 4 if quick else 10
        for label, path in (("json", "/hello/world"), ("table", "/item/abc")):
            rps, failed = _wrk(f"{target.http}{path}", seconds)
            target.results[label] = rps
            if failed:
                print(f"peers: {target.name} failed {failed} requests to {path} in {seconds} s")
        try:
            target.results["ws"] = _broadcast_p95(target, 3 if quick else 5)
        except (OSError, RuntimeError, TimeoutError) as exc:
            print(f"peers: {target.name} WebSocket broadcast not measured: {exc!r}")
            target.results["ws"] = float("nan")
    return target


def run(quick: bool = False) -> list[Row]:
    reason = missing()
    if reason:
        print(f"skipping peers benchmark: {reason}; install them with: {INSTALL}")
        return []
    raise_nofile()
    strato = _measure(_strato, quick)
    rows = []
    for start in (_serverless, _architect):
        try:
            peer = _measure(start, quick)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"peers: {start.__name__.strip('_')} did not run: {exc!r}")
            continue
        rows += [
            Row("peers", "GET JSON", strato.results["json"], peer.results["json"], peer.name, "req/s"),
            Row(
                "peers",
                "table put + get per request",
                strato.results["table"],
                peer.results["table"],
                peer.name,
                "req/s",
            ),
            Row(
                "peers",
                f"WebSocket broadcast to {CLIENTS:,}: delivery p95",
                strato.results["ws"],
                peer.results["ws"],
                peer.name,
                "ms",
                higher_is_better=False,
            ),
        ]
    return rows
