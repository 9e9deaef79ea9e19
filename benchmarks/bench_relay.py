"""The relay reference app (examples/relay) under `strato dev`, loopback only.

- keystroke: a viewer (examples/relay/viewer.py: X25519 / AES-GCM) types one character, the real CLI
  (`python -m examples.relay.cli -- cat`, a PTY that echoes) decrypts it, the PTY echoes, the CLI encrypts
  the echo and the viewer decrypts it: p50 / p95. Baseline: the same two relay hops with no CLI, PTY or
  crypto (a raw client echoes each frame straight back), measured in this run.
- sessions: N sessions (CLI + 2 viewers each) and every CLI sending 10 frames/s for a bounded time; every
  frame must reach both viewers exactly once (receivers order by seq). Reports frames delivered per
  second, lost frames and delivery p95 (send to arrival).
- memory: the server's RSS growth per idle session (a CLI and two viewers paired).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .support import ROOT, Row, free_port, process
from .ws_fleet import raise_nofile

APP = "examples/relay/app.py"
KEY = base64.b64encode(b"k" * 32).decode()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- keystroke round trip -----------------------------------------------------------------------------
def _keystrokes(url: str, count: int) -> list[float]:
    sys.path.insert(0, str(ROOT))
    from examples.relay.viewer import Viewer

    cli = subprocess.Popen(
        [sys.executable, "-m", "examples.relay.cli", "--url", url, "--", "cat"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    viewer = None
    try:
        code = cli.stderr.readline().decode().split("pairing code ")[1].split()[0]
        viewer = Viewer(url)
        assert viewer.join(code=code)["type"] == "joined"
        viewer.read(1.0)  # whatever the PTY printed first
        times = []
        for i in range(count + 10):
            char = b"abcdefghijklmnopqrstuvwxyz"[i % 26 : i % 26 + 1]
            start = time.perf_counter()
            viewer.type(char)
            echoed = b""
            while char not in echoed:
                got = viewer.read(5)
                if not got:
                    raise RuntimeError("a keystroke was not echoed within 5 s")
                echoed += got
            if i >= 10:  # warm-up
                times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        if viewer:
            viewer.close()
        cli.terminate()
        cli.wait(10)


async def _hops(url: str, count: int) -> list[float]:
    """Baseline: web -> relay -> a raw CLI that sends each frame straight back -> relay -> web."""
    from websockets.asyncio.client import connect

    async with connect(url + "?role=cli") as cli, connect(url + "?role=web") as web:
        await cli.send(json.dumps({"action": "create", "publicKey": KEY}))
        session = json.loads(await cli.recv())
        await web.send(json.dumps({"action": "join", "pairingCode": session["pairingCode"], "publicKey": KEY}))
        await web.recv()
        await cli.recv()
        sid, times = session["sessionId"], []
        for seq in range(count + 10):
            start = time.perf_counter()
            await web.send(json.dumps({"action": "send", "sessionId": sid, "seq": seq, "payload": "YQ=="}))
            frame = json.loads(await cli.recv())
            await cli.send(json.dumps({"action": "send", "sessionId": sid, "seq": seq, "payload": frame["payload"]}))
            await web.recv()
            if seq >= 10:
                times.append((time.perf_counter() - start) * 1000)
        return times


# -- many sessions ---------------------------------------------------------------------------------------
async def _pair(url: str) -> tuple:
    from websockets.asyncio.client import connect

    cli = await connect(url + "?role=cli", open_timeout=60)
    await cli.send(json.dumps({"action": "create", "publicKey": KEY}))
    session = json.loads(await cli.recv())
    viewers = []
    for _ in range(2):
        web = await connect(url + "?role=web", open_timeout=60)
        await web.send(json.dumps({"action": "join", "sessionId": session["sessionId"], "publicKey": KEY}))
        assert json.loads(await web.recv())["type"] == "joined"
        await cli.recv()  # peer-joined
        viewers.append(web)
    return cli, viewers, session["sessionId"]


async def _open_sessions(url: str, count: int) -> list[tuple]:
    sessions: list[tuple] = []
    for start in range(0, count, 25):  # 25 pairings at a time
        sessions += await asyncio.gather(*[_pair(url) for _ in range(min(25, count - start))])
    return sessions


async def _load(url: str, count: int, seconds: float, drain: float) -> dict:
    sessions = await _open_sessions(url, count)
    sent = [0] * count
    got: list[list[list[int]]] = [[[], []] for _ in range(count)]
    latencies: list[float] = []

    async def sender(i: int) -> None:
        cli, _, sid = sessions[i]
        await asyncio.sleep(i / count * 0.1)  # spread the ticks
        deadline = time.monotonic() + seconds
        seq = 0
        while time.monotonic() < deadline:
            payload = base64.b64encode(struct.pack(">d", time.time()) + b"x" * 24).decode()
            await cli.send(json.dumps({"action": "send", "sessionId": sid, "seq": seq, "payload": payload}))
            seq += 1
            sent[i] = seq
            await asyncio.sleep(0.1)

    async def receiver(i: int, v: int) -> None:
        web = sessions[i][1][v]
        async for raw in web:
            frame = json.loads(raw)
            if frame.get("type") == "data":
                got[i][v].append(frame["seq"])
                (stamp,) = struct.unpack(">d", base64.b64decode(frame["payload"])[:8])
                latencies.append((time.time() - stamp) * 1000)

    receivers = [asyncio.create_task(receiver(i, v)) for i in range(count) for v in range(2)]
    started = time.monotonic()
    await asyncio.gather(*[sender(i) for i in range(count)])
    total = sum(sent) * 2
    deadline = time.monotonic() + drain
    while sum(len(g) for s in got for g in s) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    for task in receivers:
        task.cancel()
    for cli, viewers, _ in sessions:
        for ws in (cli, *viewers):
            await ws.close()
    delivered = sum(len(g) for s in got for g in s)
    lost = sum(len(set(range(sent[i])) - set(g)) for i in range(count) for g in got[i])
    duplicates = sum(len(g) - len(set(g)) for s in got for g in s)
    out_of_order = sum(sum(1 for a, b in itertools.pairwise(g) if b < a) for s in got for g in s)
    return {
        "sent": total,
        "delivered": delivered,
        "lost": lost,
        "duplicates": duplicates,
        "arrived out of order": out_of_order,
        "rate": delivered / elapsed,
        "p95": _p(latencies, 0.95),
    }


def _idle_memory(url: str, pid: int, count: int) -> float:
    async def hold() -> float:
        before = _rss_kb(pid)
        sessions = await _open_sessions(url, count)
        await asyncio.sleep(2)
        after = _rss_kb(pid)
        for cli, viewers, _ in sessions:
            for ws in (cli, *viewers):
                await ws.close()
        return (after - before) / count

    return asyncio.run(hold())


def _load_rows(label: str, load: dict, sessions: int) -> list[Row]:
    return [
        Row(
            "relay",
            f"{label}: frames delivered",
            load["delivered"],
            load["sent"],
            "sent to viewers",
            "frames",
            "nothing lost",
        ),
        Row(
            "relay",
            f"{label}: undelivered 60 s after the last send / duplicated",
            load["lost"] + load["duplicates"],
            0,
            "",
            "frames",
            "0",
            higher_is_better=False,
        ),
        Row(
            "relay",
            f"{label}: arrived out of seq order (receivers reorder)",
            load["arrived out of order"],
            0,
            "",
            "frames",
            higher_is_better=False,
        ),
        Row("relay", f"{label}: delivery rate", load["rate"], sessions * 20, "offered", "frames/s"),
        Row("relay", f"{label}: delivery p95", load["p95"], 0, "", "ms", higher_is_better=False),
    ]


def run(quick: bool = False) -> list[Row]:
    raise_nofile()
    sizes = (20, 100) if quick else (50, 500)  # within strato dev's capacity, and the target
    seconds = 5 if quick else 10
    keystrokes = 100 if quick else 300
    rows = []
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        url = f"ws://127.0.0.1:{port}/ws/relay"
        options = ["--port", str(port), "--data", data, "--log-level", "warning"]
        dev = [sys.executable, "-m", "strato.cli", "dev", APP, *options]
        with process(dev, port, {"STRATO_PROVIDER": "local"}) as proc:
            hops = asyncio.run(_hops(url, keystrokes))
            keys = _keystrokes(url, keystrokes)
            rows += [
                Row(
                    "relay",
                    "keystroke web -> CLI (PTY echo) -> web: p50",
                    statistics.median(keys),
                    statistics.median(hops),
                    "relay hops only",
                    "ms",
                    higher_is_better=False,
                ),
                Row(
                    "relay",
                    "keystroke web -> CLI (PTY echo) -> web: p95",
                    _p(keys, 0.95),
                    _p(hops, 0.95),
                    "relay hops only",
                    "ms",
                    "p95 < 20 ms",
                    higher_is_better=False,
                ),
            ]
            kb = _idle_memory(url, proc.pid, 100 if quick else 200)
            loads = [(n, asyncio.run(_load(url, n, seconds, drain=60))) for n in sizes]
    for n, load in loads:
        rows += _load_rows(f"{n} sessions x 2 viewers x 10 frames/s, {seconds} s", load, n)
    rows.append(
        Row("relay", "server memory per idle session (CLI + 2 viewers)", kb, 0, "", "KB", higher_is_better=False)
    )
    return rows


if __name__ == "__main__":
    from .support import print_rows

    print_rows(run(quick="--quick" in sys.argv))
    os._exit(0)
