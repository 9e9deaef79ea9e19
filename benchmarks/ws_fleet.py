"""WebSocket clients in separate processes, so a broadcast benchmark measures the server, not its client.

One process holds up to 1,000 connections on a bare asyncio protocol (a hand-rolled RFC 6455 client:
server frames are unmasked, so reading one is a few slices and a ``json.loads``), stamps each message's
arrival time on ``data_received`` and reports delivery latencies (arrival minus the ``t`` the server
stamped) to the parent over a pipe. The parent (:class:`Fleet`) starts one process per 1,000
connections; ``Fleet.count`` is how many opened.

Protocol on the pipes, one line each: the child prints ``ready <n>`` once connected; then after each
broadcast it prints ``round <json list of ms>`` when every connection got a message (or 10 s after the
first arrival, with what arrived); ``alive`` on stdin answers ``alive <open connections>``; ``quit`` exits.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import select
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PER_PROCESS = 1000
ROUND_TIMEOUT = 10.0


def raise_nofile() -> int:
    """Raise this process's soft open-files limit to its hard limit (thousands of sockets); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of every live thread of ``pid``, in seconds at ns resolution (schedstat);
    falls back to /proc/<pid>/stat ticks (10 ms) where schedstat is missing."""
    try:
        total = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9
    except (OSError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the child: one process, many connections ----------------------------------------------------------


class _Client(asyncio.Protocol):
    """One WebSocket connection that only listens: handshake, then unmasked server frames."""

    def __init__(self, host: str, path: str, sink: _Sink) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.sink = sink
        self.buffer = b""
        self.upgraded = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio subclasses
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed during the handshake"))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data
        if not self.open:
            head, sep, buffer = buffer.partition(b"\r\n\r\n")
            if not sep:
                self.buffer = head
                return
            if self.upgraded.done():  # given up on (cancelled) meanwhile
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                return
            self.open = True
            self.upgraded.set_result(None)
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                break
            payload, buffer = buffer[start : start + length], buffer[start + length :]
            if opcode == 0x1:
                self.sink.arrived(now, payload)
            elif opcode == 0x9 and self.transport is not None:  # ping: a masked pong (zero key) with its data
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 0x8 and self.transport is not None:
                self.open = False
                self.transport.close()
        self.buffer = buffer


class _Sink:
    """Collects one round's latencies and reports the round when every connection got its message."""

    def __init__(self) -> None:
        self.expected = 0
        self.latencies: list[float] = []
        self.first = 0.0

    def arrived(self, now: float, payload: bytes) -> None:
        if not self.latencies:
            self.first = now
        self.latencies.append((now - json.loads(payload)["t"]) * 1000)
        if len(self.latencies) >= self.expected:
            self.report()

    def report(self) -> None:
        print("round", json.dumps([round(x, 3) for x in self.latencies]), flush=True)
        self.latencies = []

    async def watchdog(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self.latencies and time.time() - self.first > ROUND_TIMEOUT:
                self.report()


async def _child(url: str, count: int, batch: int) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    sink = _Sink()
    clients: list[_Client] = []
    for start in range(0, count, batch):
        wanted = min(start + batch, count) - start
        for _attempt in range(3):  # a refused upgrade (a peer's $connect timing out) is retried twice
            group = [_Client(f"{host}:{port}", parts.path or "/", sink) for _ in range(wanted)]
            made = await asyncio.gather(
                *(loop.create_connection(lambda c=c: c, host, port) for c in group), return_exceptions=True
            )
            waiting = [c.upgraded for c, m in zip(group, made, strict=True) if not isinstance(m, BaseException)]
            if waiting:
                await asyncio.wait(waiting, timeout=60)
            for future in waiting:  # retrieve refusals, give up on handshakes that never answered
                if future.done():
                    future.exception()
                else:
                    future.cancel()
            for c in group:
                if c.open:
                    clients.append(c)
                elif c.transport is not None:
                    c.transport.close()
            wanted -= sum(1 for c in group if c.open)
            if not wanted:
                break
    sink.expected = len(clients)
    watchdog = asyncio.create_task(sink.watchdog())
    print("ready", len(clients), flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "alive":
            print("alive", sum(1 for c in clients if c.open), flush=True)
        elif line == "quit":
            break
    watchdog.cancel()
    for c in clients:
        if c.transport is not None:
            c.transport.close()


# -- the parent: a fleet of child processes -----------------------------------------------------------


class Fleet:
    """``count`` connections to ``url`` held by ``ceil(count / 1000)`` child processes, each opening
    ``batch`` at a time (servers that run a Lambda process or thread per $connect need small batches)."""

    def __init__(self, url: str, count: int, batch: int = 100) -> None:
        raise_nofile()
        self.count = count
        self.procs = []
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        for start in range(0, count, PER_PROCESS):
            n = min(PER_PROCESS, count - start)
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.ws_fleet", url, str(n), str(batch)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )
        self.count = 0
        for proc in self.procs:
            line = self._line(proc)
            if not line.startswith("ready"):
                self.close()
                raise RuntimeError(f"a client process failed to connect to {url}: {line!r}")
            self.count += int(line.split()[1])

    @staticmethod
    def _line(proc: subprocess.Popen) -> str:
        assert proc.stdout is not None
        return proc.stdout.readline().strip()

    def collect(self, timeout: float = 60) -> list[float]:
        """Delivery latencies (ms) of one broadcast, from every process; fewer than ``count`` if some were lost.
        TimeoutError if a process reports nothing in ``timeout`` seconds (nothing at all arrived there)."""
        out: list[float] = []
        for proc in self.procs:
            assert proc.stdout is not None
            if not select.select([proc.stdout], [], [], timeout)[0]:
                raise TimeoutError(f"no delivery reached a client process in {timeout} s")
            line = self._line(proc)
            if not line.startswith("round"):
                raise RuntimeError(f"a client process died: {line!r}")
            out += json.loads(line.split(" ", 1)[1])
        return out

    def alive(self) -> int:
        total = 0
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("alive\n")
            proc.stdin.flush()
            total += int(self._line(proc).split()[1])
        return total

    def close(self) -> None:
        for proc in self.procs:
            try:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.close()
            except (OSError, ValueError):
                pass
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_child(main: Coroutine[Any, Any, None]) -> None:
    """A client process's entry: thousands of sockets allowed, uvloop when installed."""
    raise_nofile()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - the plain loop is slower, not wrong
        pass
    asyncio.run(main)


if __name__ == "__main__":
    run_child(_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
