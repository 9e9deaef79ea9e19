"""WebSocket: broadcast one message to 1,000 clients (delivery latency and messages per second)
against a bare `websockets` server doing the same broadcast; 2,000 idle connections held, memory
per connection."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .support import Row, free_port, process


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _clients(url: str, count: int) -> list:
    from websockets.asyncio.client import connect

    sockets = []
    for start in range(0, count, 100):
        sockets += await asyncio.gather(
            *(connect(url, max_size=None, ping_interval=None) for _ in range(start, min(start + 100, count)))
        )
    return sockets


async def _measure(url: str, trigger, count: int, rounds: int) -> tuple[float, float, float, float]:
    """(p50, p95, max) of per-client delivery latency in ms, and delivered msgs/s."""
    from websockets.asyncio.client import connect

    sockets = await _clients(url, count)
    latencies: list[float] = []
    total_time = 0.0
    for _ in range(rounds):
        arrivals: list[tuple[float, float]] = []

        async def receive(ws, into: list = arrivals) -> None:
            sent = json.loads(await ws.recv())["t"]
            into.append((time.time(), sent))

        receivers = [asyncio.create_task(receive(ws)) for ws in sockets]
        await asyncio.sleep(0.05)
        started = time.time()
        await trigger()
        await asyncio.wait_for(asyncio.gather(*receivers), 30)
        latencies += [(arrived - sent) * 1000 for arrived, sent in arrivals]
        total_time += max(a for a, _ in arrivals) - started
    await asyncio.gather(*(ws.close() for ws in sockets))
    assert connect
    ordered = sorted(latencies)
    return (statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1], ordered[-1], count * rounds / total_time)


def _strato_broadcast(count: int, rounds: int) -> tuple[float, float, float, float]:
    from websockets.asyncio.client import connect

    port = free_port()
    with (
        tempfile.TemporaryDirectory() as tmp,
        process(
            [
                sys.executable,
                "-m",
                "strato.cli",
                "dev",
                "benchmarks/apps/ws_strato.py",
                "--port",
                str(port),
                "--data",
                tmp,
                "--log-level",
                "warning",
            ],
            port,
        ),
    ):

        async def run() -> tuple:
            control = await connect(f"ws://127.0.0.1:{port}/ws/live")

            async def trigger() -> None:
                await control.send('{"action": "blast"}')
                while "sent" not in json.loads(await control.recv()):  # its own copy, then the reply
                    pass

            try:
                return await _measure(f"ws://127.0.0.1:{port}/ws/live", trigger, count, rounds)
            finally:
                await control.close()

        return asyncio.run(run())


def _bare_broadcast(count: int, rounds: int) -> tuple[float, float, float, float]:
    from websockets.asyncio.client import connect

    port = free_port()
    with process([sys.executable, "benchmarks/apps/ws_bare.py", str(port)], port):

        async def run() -> tuple:
            control = await connect(f"ws://127.0.0.1:{port}/control")

            async def trigger() -> None:
                await control.send("go")
                await control.recv()

            try:
                return await _measure(f"ws://127.0.0.1:{port}/", trigger, count, rounds)
            finally:
                await control.close()

        return asyncio.run(run())


def _idle(count: int, seconds: float) -> tuple[int, float]:
    """Hold `count` idle connections to strato dev; (connections still open, KB of server RSS each)."""
    port = free_port()
    with (
        tempfile.TemporaryDirectory() as tmp,
        process(
            [
                sys.executable,
                "-m",
                "strato.cli",
                "dev",
                "benchmarks/apps/ws_strato.py",
                "--port",
                str(port),
                "--data",
                tmp,
                "--log-level",
                "warning",
            ],
            port,
        ) as proc,
    ):
        time.sleep(0.5)
        before = _rss_kb(proc.pid)

        async def run() -> tuple[int, float]:
            sockets = await _clients(f"ws://127.0.0.1:{port}/ws/live", count)
            await asyncio.sleep(1.0)
            during = _rss_kb(proc.pid)
            await asyncio.sleep(seconds)
            alive = sum(1 for ws in sockets if ws.close_code is None)
            await asyncio.gather(*(ws.close() for ws in sockets))
            return alive, (during - before) / count

        return asyncio.run(run())


def run(quick: bool = False) -> list[Row]:
    count, rounds = (1000, 5) if quick else (1000, 20)
    s50, s95, smax, srate = _strato_broadcast(count, rounds)
    b50, b95, bmax, brate = _bare_broadcast(count, rounds)
    alive, kb_each = _idle(2000, 10 if quick else 60)
    return [
        Row(
            "websocket", f"broadcast to {count}: messages/s", srate, brate, "bare websockets server", "msgs/s", "≥ 0.5x"
        ),
        Row("websocket", "broadcast delivery p50", s50, b50, "bare websockets server", "ms", higher_is_better=False),
        Row(
            "websocket",
            "broadcast delivery p95",
            s95,
            b95,
            "bare websockets server",
            "ms",
            "p95 < 100 ms",
            higher_is_better=False,
        ),
        Row("websocket", "broadcast delivery max", smax, bmax, "bare websockets server", "ms", higher_is_better=False),
        Row(
            "websocket",
            f"idle connections held ({'10' if quick else '60'} s)",
            alive,
            2000,
            "opened",
            "conns",
            "all 2000",
        ),
        Row("websocket", "server memory per connection", kb_each, 0, "", "KB", "", higher_is_better=False),
    ]
