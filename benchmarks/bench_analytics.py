"""The analytics reference app under issue 23's load: `strato dev examples/analytics/app.py --no-worker` plus a
separate `strato worker`, driven by examples/analytics/load.py (20 applications x 100 metrics/s through
POST /api/metrics, 50 live subscribers over graphql-transport-ws; 60 s, 10 s with --quick).

- accepted metrics/s (the offered 2,000/s is the target) and metrics not queryable afterwards (target 0);
- ingest p95, getMetrics p95 during the load; baseline: GET /_strato/health (the dev server's bare
  route) from the same client in the same run, under the same load;
- live update p95: the ingest call returned -> the datapoint received by a subscriber;
- ingest -> queryable p95: a probe metric posted, then getMetrics until it counts it;
- cost per MAU: `strato cost` of the recorded run as if it went on all month, over the 50 analysts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from .support import ROOT, Row, free_port, process

APP = "examples/analytics/app.py"
APPS, RATE, SUBSCRIBERS = 20, 100, 50
SECTION, BARE = "analytics app", "GET /_strato/health"


def run(quick: bool = False) -> list[Row]:
    sys.path.insert(0, str(ROOT / "examples" / "analytics"))
    import load  # examples/analytics/load.py

    seconds = 10 if quick else 60
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = {"STRATO_PROVIDER": "local"}
        dev = [sys.executable, "-m", "strato.cli", "dev", APP, "--port", str(port), "--data", data, "--no-worker"]
        worker = [sys.executable, "-m", "strato.cli", "worker", APP, "--data", data, "--poll-wait", "0.2"]
        with process([*dev, "--log-level", "warning"], port, env):
            helper = subprocess.Popen(
                worker, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                token, keys = load.setup(url, data, APPS)
                result = load.run(url, token, keys, RATE, seconds, SUBSCRIBERS)
            finally:
                helper.terminate()
                helper.wait(30)
        cost = subprocess.run(
            [
                sys.executable,
                "-m",
                "strato.cli",
                "cost",
                APP,
                "--data",
                data,
                "--json",
                "--runs-per-month",
                str(30 * 86400 / seconds),
                "--users",
                str(SUBSCRIBERS),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **env},
        )
    per_mau = json.loads(cost.stdout)["per_1000_users_usd"] / 1000
    if result.errors:
        raise RuntimeError(f"ingest failed: {result.errors[:3]}")
    health = load.p95(result.health_ms)

    def lower(metric: str, value: float, unit: str, target: str, baseline: float = 0, name: str = "") -> Row:
        return Row(SECTION, metric, value, baseline, name, unit, target, higher_is_better=False)

    offered = f"ingest accepted ({APPS} apps x {RATE}/s offered, {seconds} s)"
    return [
        Row(SECTION, offered, result.accepted / seconds, APPS * RATE, "offered", "metrics/s", "2,000/s"),
        lower("accepted but not queryable afterwards", result.missing, "metrics", "0"),
        lower("POST /api/metrics p95 (batches of 10)", load.p95(result.ingest_ms), "ms", "< 50 ms", health, BARE),
        lower("getMetrics p95 during the load", load.p95(result.query_ms), "ms", "< 50 ms", health, BARE),
        lower(f"live update p95 ({SUBSCRIBERS} subscribers)", load.p95(result.live_ms), "ms", "< 20 ms"),
        lower("ingest -> queryable p95", load.p95(result.queryable_ms), "ms", "< 1 s"),
        lower(f"cost per MAU ({SUBSCRIBERS} analysts, this load all month)", per_mau, "USD", "< $0.10"),
    ]


if __name__ == "__main__":
    from .support import print_rows

    print_rows(run(quick="--quick" in sys.argv))
