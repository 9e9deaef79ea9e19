"""Chat listeners in a separate process (so the benchmark measures the server, not its clients): one
connection per URL of a file (each user's own token), kept open on ws_fleet's bare asyncio client.

Every ``message`` frame's ``text`` is the sender's ``time.time()``; a connection records the delivery
latency and the message id, so lost and duplicated deliveries can be counted per connection.
Protocol on the pipes, one line each: ``ready <n>`` once connected; ``report`` on stdin answers
``report <json {"latencies", "received", "duplicates"}>`` (latencies since the last report);
``alive`` answers ``alive <open connections>``; ``quit`` exits.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from .ws_fleet import _Client, raise_nofile, run_child


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.received = 0
        self.duplicates = 0


class Listener:
    """One connection's sink: ws_fleet's client calls ``arrived`` per text frame."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.seen: set[str] = set()

    def arrived(self, now: float, payload: bytes) -> None:
        frame = json.loads(payload)
        if frame.get("type") != "message":
            return
        if frame["id"] in self.seen:
            self.stats.duplicates += 1
            return
        self.seen.add(frame["id"])
        self.stats.received += 1
        self.stats.latencies.append((now - float(frame["text"])) * 1000)


async def _child(urls: list[str], batch: int) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats()
    clients: list[_Client] = []
    for start in range(0, len(urls), batch):
        group = []
        for url in urls[start : start + batch]:
            parts = urlsplit(url)
            path = f"{parts.path}?{parts.query}" if parts.query else parts.path
            group.append((_Client(f"{parts.hostname}:{parts.port}", path, Listener(stats)), parts))  # type: ignore[arg-type]
        await asyncio.gather(
            *(loop.create_connection(lambda c=c: c, p.hostname, p.port) for c, p in group), return_exceptions=True
        )
        await asyncio.wait([c.upgraded for c, _ in group], timeout=60)
        for client, _ in group:
            if client.upgraded.done() and not client.upgraded.cancelled() and client.upgraded.exception() is None:
                clients.append(client)
    print("ready", len(clients), flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "report":
            out = {"latencies": [round(x, 3) for x in stats.latencies], "received": stats.received}
            print("report", json.dumps({**out, "duplicates": stats.duplicates}), flush=True)
            stats.latencies = []
        elif line == "alive":
            print("alive", sum(1 for c in clients if c.open), flush=True)
        elif line == "quit":
            break
    for client in clients:
        if client.transport is not None:
            client.transport.close()


class ChatFleet:
    """The listeners of ``urls`` in one child process (up to a few thousand connections)."""

    def __init__(self, urls: list[str], folder: Path, batch: int = 50) -> None:
        import os

        raise_nofile()
        listing = folder / "fleet-urls.txt"
        listing.write_text("\n".join(urls))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.chat_fleet", str(listing), str(batch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = self._ask(None)
        if not line.startswith("ready"):
            self.close()
            raise RuntimeError(f"the listener process failed: {line!r}")
        self.count = int(line.split()[1])

    def _ask(self, command: str | None) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def report(self) -> dict:
        return json.loads(self._ask("report").split(" ", 1)[1])

    def close(self) -> None:
        try:
            self._ask("quit")
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    run_child(_child(Path(sys.argv[1]).read_text().split(), int(sys.argv[2])))
