"""Load: N jobs from C concurrent clients against a running jobs service; every job must finish.

    strato dev examples/jobs/app.py --no-worker &  strato worker examples/jobs/app.py &
    python examples/jobs/load.py --url http://127.0.0.1:8000 --jobs 1000 --clients 20

Every 50th prompt contains "fail", so those jobs must end `failed` (after the queue's retries) and the
rest `completed`. Prints submit throughput, p50/p95 submit latency and the time until all finished.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    latencies: list[float] = []
    local = threading.local()  # one keep-alive connection per client thread, as a real client would

    def submit(i: int) -> tuple[str, str, bool]:
        user = f"load-{i % args.clients}"
        planted = i % 50 == 0
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=args.url, timeout=30)
        prompt = f"An API for parts and suppliers {i}" + (" fail" if planted else "")
        started = time.perf_counter()
        response = local.client.post(
            "/api/code-gen",
            headers={"x-dev-user-id": user},
            json={"projectId": f"load{i}", "type": "api", "prompt": prompt},
        )
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        return user, response.json()["id"], planted

    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        jobs = list(pool.map(submit, range(args.jobs)))
    submit_seconds = time.perf_counter() - started
    pending = {(u, j): planted for u, j, planted in jobs}
    wrong: list[str] = []
    with httpx.Client(base_url=args.url, timeout=30) as client:
        deadline = time.monotonic() + args.timeout
        while pending and time.monotonic() < deadline:
            for (user, job_id), planted in list(pending.items()):
                status = client.get(f"/api/code-gen/{job_id}", headers={"x-dev-user-id": user}).json()["status"]
                if status in ("completed", "failed"):
                    if status != ("failed" if planted else "completed"):
                        wrong.append(f"{job_id}: {status}")
                    del pending[(user, job_id)]
            time.sleep(0.5)
    total = time.perf_counter() - started
    ordered = sorted(latencies)
    print(f"jobs: {args.jobs} from {args.clients} clients")
    print(
        f"submit: {args.jobs / submit_seconds:,.0f} jobs/s; latency p50 {statistics.median(ordered):.1f} ms, "
        f"p95 {ordered[int(len(ordered) * 0.95) - 1]:.1f} ms"
    )
    print(
        f"all finished after {total:.1f} s ({args.jobs / total:,.0f} jobs/s end to end); "
        f"unfinished: {len(pending)}, wrong outcome: {len(wrong)}"
    )
    return 1 if pending or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
