"""WebSocket: broadcast one message to 1,000 / 3,000 / 5,000 clients, `strato dev` vs a bare `websockets`
server doing the same broadcast, interleaved (both servers up, rounds alternate); 2,000 idle connections
held, memory per connection.

The clients live in separate processes (benchmarks/ws_fleet.py, one per 1,000 connections), so the server
is what is measured: server CPU per broadcast (its threads' CPU time around each round, from /proc) and
delivery p95 (arrival in the client minus the time the server stamped in the message). Delivery latency
still includes the client processes' own time on a shared machine; server CPU does not.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .support import Row, ScalePoint, free_port, process
from .ws_fleet import Fleet, cpu_seconds, raise_nofile

SIZES = (1000, 3000, 5000)
BARE = "bare websockets server"


@dataclass
class _Server:
    """A running server: its pid, the URL clients join, and a control connection that triggers a broadcast."""

    name: str
    pid: int
    url: str
    control: object
    trigger_message: str
    cpu_ms: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lost: int = 0

    def broadcast(self, fleet: Fleet, record: bool = True) -> None:
        """One broadcast: trigger it, wait for every client process's report; CPU and latencies recorded."""
        before = cpu_seconds(self.pid)
        self.control.send(self.trigger_message)  # type: ignore[attr-defined]
        while "sent" not in json.loads(self.control.recv(timeout=30)):  # type: ignore[attr-defined]
            pass  # strato's control connection gets its own copy of the broadcast first
        delivered = fleet.collect()
        spent = (cpu_seconds(self.pid) - before) * 1000
        if record:
            self.cpu_ms.append(spent)
            self.latencies += delivered
            self.lost += fleet.count - len(delivered)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextmanager
def _strato() -> Iterator[_Server]:
    from websockets.sync.client import connect

    port = free_port()
    args = ["benchmarks/apps/ws_strato.py", "--port", str(port), "--log-level", "warning"]
    url = f"ws://127.0.0.1:{port}/ws/live"
    with (
        tempfile.TemporaryDirectory() as tmp,
        process([sys.executable, "-m", "strato.cli", "dev", *args, "--data", tmp], port) as proc,
        connect(url, max_size=None) as control,
    ):
        yield _Server("strato", proc.pid, url, control, '{"action": "blast"}')


@contextmanager
def _bare() -> Iterator[_Server]:
    from websockets.sync.client import connect

    port = free_port()
    with (
        process([sys.executable, "benchmarks/apps/ws_bare.py", str(port)], port) as proc,
        connect(f"ws://127.0.0.1:{port}/control", max_size=None) as control,
    ):
        yield _Server(BARE, proc.pid, f"ws://127.0.0.1:{port}/", control, "go")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def _sweep(sizes: tuple[int, ...], rounds: int, starters: tuple) -> dict[int, list[_Server]]:
    """For each size: every server up at once with its own fleet, broadcasts alternating between them."""
    raise_nofile()
    out: dict[int, list[_Server]] = {}
    for size in sizes:
        try:
            with ExitStack() as stack:
                servers = [stack.enter_context(start()) for start in starters]
                fleets = [stack.enter_context(Fleet(s.url, size)) for s in servers]
                pairs = list(zip(servers, fleets, strict=True))
                for server, fleet in pairs:
                    server.broadcast(fleet, record=False)  # warm up
                for i in range(rounds):
                    for server, fleet in pairs if i % 2 == 0 else pairs[::-1]:
                        time.sleep(0.05)
                        server.broadcast(fleet)
        except Exception as exc:  # a size that fails is reported and skipped, the others still run
            print(f"websocket: the broadcast at {size} connections failed: {exc!r}")
            continue
        for server in servers:
            if server.lost:
                print(f"websocket: {server.name} lost {server.lost} deliveries at {size} connections")
        out[size] = servers
    return out


def _idle(count: int, seconds: float) -> tuple[int, float]:
    """Hold `count` idle connections to strato dev; (connections still open, KB of server RSS each)."""
    with _strato() as server:
        time.sleep(0.5)
        before = _rss_kb(server.pid)
        with Fleet(server.url, count) as fleet:
            time.sleep(1.0)
            during = _rss_kb(server.pid)
            time.sleep(seconds)
            return fleet.alive(), (during - before) / count


def run(quick: bool = False) -> list[Row]:
    rounds = 6 if quick else 16
    rows = []
    for size, (strato, bare) in _sweep(SIZES, rounds, (_strato, _bare)).items():
        rows += [
            Row(
                "websocket",
                f"broadcast to {size:,}: delivery p95",
                _p95(strato.latencies),
                _p95(bare.latencies),
                BARE,
                "ms",
                "p95 < 100 ms" if size == 1000 else "",
                higher_is_better=False,
            ),
            Row(
                "websocket",
                f"broadcast to {size:,}: server CPU per broadcast",
                statistics.median(strato.cpu_ms),
                statistics.median(bare.cpu_ms),
                BARE,
                "ms",
                higher_is_better=False,
            ),
        ]
    seconds = 10 if quick else 60
    alive, kb_each = _idle(2000, seconds)
    return [
        *rows,
        Row("websocket", f"idle connections held ({seconds} s)", alive, 2000, "opened", "conns", "all 2000"),
        Row("websocket", "server memory per connection", kb_each, 0, "", "KB", "", higher_is_better=False),
    ]


def scale(quick: bool = False) -> list[ScalePoint]:
    """Server CPU per delivered message as connections grow: flat means a broadcast costs O(connections)."""
    points = []
    for size, (strato,) in _sweep(SIZES, 4 if quick else 10, (_strato,)).items():
        cpu_us = statistics.median(strato.cpu_ms) * 1000
        points.append(ScalePoint("websocket broadcast: server CPU", size, cpu_us / size, "µs/delivery"))
    return points
