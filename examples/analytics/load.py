"""Load: A applications x R metrics/s through POST /api/metrics for S seconds while L live subscribers
watch (graphql-transport-ws), against a running analytics service (issue 23's targets).

    strato dev examples/analytics/app.py --no-worker &  strato worker examples/analytics/app.py &
    python examples/analytics/load.py --url http://127.0.0.1:8000 --data .strato

Each application sends its R metrics a second as batches of R/10 every 100 ms over one kept-alive
connection (10 metric names round robin); subscriber i watches metric m0 of application i % A. Prints
ingest p95, getMetrics p95 during the load, live update p95 (ingest call returned -> datapoint received),
ingest -> queryable, and whether every accepted metric is queryable afterwards."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "Load-test-passw0rd!"
NAMES = 10
QUERY = """query($app: String!, $name: String!, $start: String!, $end: String!) {
  getMetrics(applicationId: $app, metricType: $name, startTime: $start, endTime: $end, granularity: MINUTE) {
    datapoints { sampleCount } } }"""
WATCH = 'subscription($app: String!) { metricUpdates(applicationId: $app, metricTypes: ["m0"]) { value } }'


@dataclass
class Result:
    accepted: int = 0
    ingest_ms: list[float] = field(default_factory=list)
    query_ms: list[float] = field(default_factory=list)
    live_ms: list[float] = field(default_factory=list)
    queryable_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)  # the bare dev-server route, under the same load
    missing: int = 0
    errors: list[str] = field(default_factory=list)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else (values[0] if values else float("nan"))


def setup(url: str, data: str, apps: int) -> tuple[str, dict[str, str]]:
    """An admin (through the admin CLI) and ``apps`` applications; returns (ID token, {app: key})."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from admin import main as admin

    before = os.environ.get("STRATO_DATA_DIR")
    try:  # the admin CLI points STRATO_DATA_DIR at the server's data
        admin(["--data", data, "create-user", "load@example.com", "--password", PASSWORD, "--group", "admins"])
    finally:
        os.environ.pop("ANALYTICS_ADMIN", None)
        if before is None:
            os.environ.pop("STRATO_DATA_DIR", None)
        else:
            os.environ["STRATO_DATA_DIR"] = before
    token = httpx.post(f"{url}/auth/login", json={"email": "load@example.com", "password": PASSWORD}).json()["idToken"]
    keys = {}
    run_id = f"{int(time.time()) % 100000:05d}"  # a new set of applications per run
    for i in range(apps):
        app_id = f"load-{run_id}-{i:02d}"
        made = httpx.post(
            f"{url}/api/applications", json={"applicationId": app_id}, headers={"authorization": f"Bearer {token}"}
        )
        if made.status_code != 201:
            raise RuntimeError(f"creating {app_id}: {made.status_code} {made.text}")
        keys[app_id] = made.json()["apiKey"]
    return token, keys


async def _subscriber(url: str, token: str, app: str, sent: dict[float, float], out: Result, ready: Any) -> None:
    from websockets.asyncio.client import connect

    async with connect(url.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": WATCH, "variables": {"app": app}}})
        )
        ready()
        async for raw in ws:
            at = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") == "next" and "data" in message["payload"]:
                value = message["payload"]["data"]["metricUpdates"]["value"]
                returned = sent.get(value)
                if returned is not None:
                    out.live_ms.append(max(at - returned, 0.0) * 1000)


def run(url: str, token: str, keys: dict[str, str], rate: int, seconds: float, subscribers: int) -> Result:
    out = Result()
    sent: dict[float, float] = {}  # a unique value of m0 -> when its ingest call returned
    apps = sorted(keys)
    loop = asyncio.new_event_loop()
    ready = threading.Semaphore(0)
    tasks = [
        loop.create_task(_subscriber(url, token, apps[i % len(apps)], sent, out, ready.release))
        for i in range(subscribers)
    ]

    async def close() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    threading.Thread(target=loop.run_forever, daemon=True).start()
    for _ in range(subscribers):
        if not ready.acquire(timeout=60):
            raise RuntimeError("a subscriber never got connection_ack")
    time.sleep(0.5)  # the subscribe messages are stored once their route ran
    start = time.time()
    stop = time.monotonic() + seconds
    per_batch = max(rate // 10, 1)
    lock = threading.Lock()

    def sender(index: int, app: str) -> None:
        seq = 0
        with httpx.Client(base_url=url, timeout=30, headers={"x-api-key": keys[app]}) as client:
            tick = time.monotonic()
            while tick < stop:
                batch = []
                for _ in range(per_batch):
                    value = float(index * 10**9 + seq)  # unique across applications: the live latency's key
                    batch.append({"applicationId": app, "metricName": f"m{seq % NAMES}", "value": value})
                    seq += 1
                t0 = time.perf_counter()
                answer = client.post("/api/metrics", json={"metrics": batch})
                done = time.perf_counter()
                if answer.status_code != 202:
                    out.errors.append(f"{answer.status_code} {answer.text[:200]}")
                    return
                with lock:
                    out.accepted += answer.json()["accepted"]
                    out.ingest_ms.append((done - t0) * 1000)
                for point in batch:
                    if point["metricName"] == "m0":
                        sent[point["value"]] = done
                tick += 0.1
                time.sleep(max(tick - time.monotonic(), 0))

    def querier() -> None:
        auth = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, timeout=30, headers=auth) as client:
            n = 0
            while time.monotonic() < stop:
                app = apps[n % len(apps)]
                probe = {"applicationId": app, "metricName": f"probe{n}", "value": 1}
                t0 = time.perf_counter()
                client.post("/api/metrics", json=probe, headers={"x-api-key": keys[app]})
                variables = {
                    "app": app,
                    "name": f"probe{n}",
                    "start": str(int(start * 1000) - 60_000),
                    "end": str(int(time.time() * 1000) + 60_000),
                }
                while True:  # ingest -> queryable: until getMetrics counts the probe
                    q0 = time.perf_counter()
                    body = client.post("/graphql", json={"query": QUERY, "variables": variables}).json()
                    out.query_ms.append((time.perf_counter() - q0) * 1000)
                    if body["data"]["getMetrics"]["datapoints"]:
                        out.queryable_ms.append((time.perf_counter() - t0) * 1000)
                        break
                h0 = time.perf_counter()
                client.get("/_strato/health")
                out.health_ms.append((time.perf_counter() - h0) * 1000)
                n += 1
                time.sleep(0.1)

    threads = [threading.Thread(target=sender, args=(i, app)) for i, app in enumerate(apps)]
    threads.append(threading.Thread(target=querier))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(1.0)  # the last live updates arrive
    asyncio.run_coroutine_threadsafe(close(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    out.missing = out.accepted - counted(url, token, apps, start)
    return out


def counted(url: str, token: str, apps: list[str], start: float) -> int:
    """Datapoints getMetrics counts for the load's metrics: every accepted one should be there."""
    total = 0
    with httpx.Client(base_url=url, timeout=60, headers={"authorization": f"Bearer {token}"}) as client:
        for app in apps:
            for n in range(NAMES):
                variables = {
                    "app": app,
                    "name": f"m{n}",
                    "start": str(int(start * 1000) - 60_000),
                    "end": str(int(time.time() * 1000) + 60_000),
                }
                body = client.post("/graphql", json={"query": QUERY, "variables": variables}).json()
                total += int(sum(p["sampleCount"] for p in body["data"]["getMetrics"]["datapoints"]))
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--data", default=".strato", help="the server's data directory (the admin user is made there)")
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="metrics per second per application")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--subscribers", type=int, default=50)
    args = parser.parse_args()
    token, keys = setup(args.url, args.data, args.apps)
    result = run(args.url, token, keys, args.rate, args.seconds, args.subscribers)
    print(
        f"accepted {result.accepted} metrics ({result.accepted / args.seconds:,.0f}/s); not queryable: {result.missing}"
    )
    print(f"ingest p95 {p95(result.ingest_ms):.1f} ms; getMetrics p95 {p95(result.query_ms):.1f} ms")
    print(f"live update p95 {p95(result.live_ms):.1f} ms ({len(result.live_ms)} received)")
    print(f"ingest -> queryable p95 {p95(result.queryable_ms):.1f} ms")
    for error in result.errors[:5]:
        print(f"error: {error}", file=sys.stderr)
    return 1 if result.errors or result.missing else 0


if __name__ == "__main__":
    sys.exit(main())
