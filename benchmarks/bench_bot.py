"""The bot reference app: `strato dev examples/bot/app.py` with Telegram played by the fake Bot API (in this
process, so its receive times share the client's clock).

- accepted: updates/s the webhook answers 200 for (wrk, 2 threads, 16 connections, benchmarks/apps/
  bot_updates.lua), each a distinct update, a /recall in one of 20,000 chats (under the 20-a-minute
  limit), each answered by an inline sendMessage to the fake API; also the dev server's CPU per update;
  baseline: wrk on GET /healthz of the same server (the bare route), interleaved run by run;
- latency: one client, webhook POST -> sendMessage received by the fake API, p50 / p95; baseline:
  the /healthz round trip;
- duplicates: each of N updates delivered 8 times at once (Telegram retrying); updates replied to
  more than once, or not at all (target 0).
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .support import ROOT, Row, free_port, process

APP = "examples/bot/app.py"
SECRET = "bench-secret"
CLIENTS = 16


def wrk(url: str, script: str, seconds: float, *args: str) -> float:
    """Requests/s of one wrk run with 16 connections; fails loudly on any error or non-2xx answer."""
    command = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "-s", str(ROOT / "benchmarks" / "apps" / script), url]
    out = subprocess.run(
        [*command, "--", *args] if args else command, capture_output=True, text=True, check=True
    ).stdout
    rps, _, _, bad_status, socket_errors = next(x for x in out.splitlines() if x.startswith("RESULT")).split()[1:]
    if int(bad_status) or int(socket_errors):
        raise RuntimeError(f"wrk saw errors against {url}: {out}")
    return float(rps)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def run(quick: bool = False) -> list[Row]:
    import httpx
    from examples.bot.fakeapi import FakeBotAPI

    rounds, seconds = (2, 2) if quick else (5, 4)
    samples = 100 if quick else 300
    dupes = 50 if quick else 200
    ids = itertools.count(1)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    headers = {"x-telegram-bot-api-secret-token": SECRET}
    local = threading.local()

    def client() -> httpx.Client:
        if getattr(local, "client", None) is None:
            local.client = httpx.Client(base_url=url, timeout=30, headers=headers)
        return local.client

    def update(chat: int, text: str, update_id: int | None = None) -> dict:
        return {"update_id": update_id or next(ids), "message": {"chat": {"id": chat}, "text": text}}

    def deliver(body: dict) -> dict:
        response = client().post("/webhook/telegram", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
        return response.json()

    with FakeBotAPI() as fake, tempfile.TemporaryDirectory() as data:
        env = {
            "BOT_TOKEN": "1:bench",
            "WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE": fake.url,
            "STRATO_PROVIDER": "local",
        }
        dev = [
            sys.executable,
            "-m",
            "strato.cli",
            "dev",
            APP,
            "--port",
            str(port),
            "--data",
            data,
            "--log-level",
            "warning",
        ]
        with process(dev, port, env) as proc:
            deliver(update(1, "/start"))  # migrations, first connections
            fake.wait_for(1)
            rates, healthz, cpu = [], [], []
            for round_ in range(rounds):  # interleaved, so a burst of load elsewhere hits both
                healthz.append(wrk(f"{url}/healthz", "p95.lua", seconds))
                before_cpu, before_sent = cpu_seconds(proc.pid), len(fake.sent())
                rates.append(wrk(url, "bot_updates.lua", seconds, str(10**9 * (round_ + 1)), SECRET))
                deadline = time.monotonic() + 30  # every accepted update is also replied to
                while len(fake.sent()) - before_sent < rates[-1] * seconds * 0.99 and time.monotonic() < deadline:
                    time.sleep(0.05)
                cpu.append((cpu_seconds(proc.pid) - before_cpu) / (len(fake.sent()) - before_sent) * 1e6)

            latencies, baseline = [], []
            for i in range(samples):
                chat = 100_000 + i
                t0 = time.monotonic()
                deliver(update(chat, "/recall k"))
                latencies.append((fake.wait_for(chat, 1, timeout=30)[0].at - t0) * 1000)
                t0 = time.perf_counter()
                client().get("/healthz")
                baseline.append((time.perf_counter() - t0) * 1000)

            twice, lost = 0, 0
            copies = [update(200_000 + i, "/remember once yes") for i in range(dupes)]
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(deliver, [body for body in copies for _ in range(8)]))
            time.sleep(1.0)  # late replies would land by now
            for body in copies:
                got = len(fake.sent(body["message"]["chat"]["id"]))
                twice += got > 1
                lost += got == 0
    label = f"wrk, {CLIENTS} connections, median of {rounds} x {seconds} s"
    return [
        Row(
            "bot app",
            f"webhook accepted ({label})",
            statistics.median(rates),
            statistics.median(healthz),
            "GET /healthz",
            "updates/s",
            "1,000/s",
        ),
        Row(
            "bot app",
            "dev server CPU per update (claim, rate limit, kv, reply, metric)",
            statistics.median(cpu),
            0,
            "",
            "µs",
            "",
            higher_is_better=False,
        ),
        Row(
            "bot app",
            "webhook -> sendMessage p50",
            statistics.median(latencies),
            statistics.median(baseline),
            "GET /healthz",
            "ms",
            "",
            higher_is_better=False,
        ),
        Row(
            "bot app",
            "webhook -> sendMessage p95",
            _p95(latencies),
            _p95(baseline),
            "GET /healthz",
            "ms",
            "< 50 ms",
            higher_is_better=False,
        ),
        Row(
            "bot app",
            f"processed twice ({dupes} updates x 8 concurrent deliveries)",
            twice,
            0,
            "",
            "updates",
            "0",
            higher_is_better=False,
        ),
        Row("bot app", "never processed", lost, 0, "", "updates", "0", higher_is_better=False),
    ]
