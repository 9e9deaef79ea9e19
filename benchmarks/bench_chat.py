"""The chat reference app (examples/chat) under `strato dev`, loopback only: issue 25's target.

1,000 users (one connection each, held by a separate listener process: benchmarks/chat_fleet.py) in 50
rooms; in every room one more tab of a member sends 5 messages/s for a bounded time. Each message's
text is the sender's clock, so a listener measures send-to-delivery latency; message ids count lost and
duplicated deliveries. Reported: delivery p50 / p95 (target p95 < 100 ms), delivered / expected,
lost + duplicated (target 0), the server's CPU per message (its capacity whatever else the machine
runs: the delivery latency is only meaningful when the server is not short of CPU), and the server's
memory per open connection.

Baseline, in the same run: benchmarks/apps/chat_bare.py, the same fan-out by strato's WebSocket API
alone (a room in the connection's registry data, broadcast where room = r; no user pool, no tables),
with the same listeners, senders and rates. The chat's extra cost is the JWT check on connect and,
per message, the membership check, the clientId de-duplication write, the stored message and the
room's listener query.

Users: one account is signed up through the HTTP API (its code read from the local outbox); the others
are copies of it under other names and subs in the local pool's store, their ID tokens signed by the
pool's key ring (scrypt per sign-up would take minutes; bench_auth measures sign-up and sign-in).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from .bench_relay import _p, _rss_kb  # the same RSS read and percentile as the relay suite
from .chat_fleet import ChatFleet
from .support import ROOT, Row, free_port, process
from .ws_fleet import raise_nofile

APP = "examples/chat/app.py"
BARE = "benchmarks/apps/chat_bare.py"
PASSWORD = "Corr3ct-horse!"


def _process_cpu(pid: int) -> float:
    """The server's user + system CPU seconds, exited threads included (its handler pool's threads come
    and go, so summing the live ones' schedstat would lose theirs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tokens(url: str, data: str, count: int) -> list[str]:
    import httpx

    import strato

    pool = strato.App("chat", data_dir=data).user_pool("users")
    with httpx.Client(base_url=url, timeout=30) as http:
        email = "bench@example.com"
        http.post("/auth/signup", json={"email": email, "password": PASSWORD, "name": "Bench"}).raise_for_status()
        code = pool.outbox()[-1]["message"].split()[-1]
        http.post("/auth/confirm", json={"email": email, "code": code}).raise_for_status()
        token = http.post("/auth/login", json={"email": email, "password": PASSWORD}).json()["idToken"]
    claims = pool.verify(token)
    store = pool.backend.store  # type: ignore[attr-defined]  # the local pool's SQLite store and key ring
    users = [(f"u{i}@example.com", str(uuid.UUID(int=i + 1)), f"User {i}") for i in range(count)]
    with store.db.write() as conn:  # the same confirmed account under other names: no scrypt per user
        pool_id, password, created = conn.execute(
            "SELECT pool, password, created FROM auth_users WHERE username = ?", (email,)
        ).fetchone()
        conn.executemany(
            "INSERT INTO auth_users (pool, username, sub, password, status, attributes, created) "
            "VALUES (?, ?, ?, ?, 'CONFIRMED', ?, ?)",
            [(pool_id, e, sub, password, json.dumps({"email": e, "name": n}), created) for e, sub, n in users],
        )
    return [
        store.keys.sign({**claims, "sub": sub, "cognito:username": e, "email": e, "name": n}) for e, sub, n in users
    ]


async def _joins(ws_url: str, tokens: list[str], rooms: int) -> None:
    """Each user joins room i % rooms over its own short connection (membership is stored)."""
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(20)

    async def join(i: int) -> None:
        async with gate, connect(f"{ws_url}?token={tokens[i]}", open_timeout=60) as ws:
            await ws.send(json.dumps({"action": "join", "room": f"room-{i % rooms}"}))
            while json.loads(await ws.recv()).get("type") != "joined":
                pass

    await asyncio.gather(*(join(i) for i in range(len(tokens))))


async def _send(senders: list[str], rooms: int, rate: float, seconds: float) -> list[int]:
    """One extra tab per room sends ``rate`` messages/s for ``seconds``; returns how many each sent."""
    from websockets.asyncio.client import connect

    sent = [0] * rooms
    sockets = [await connect(u, open_timeout=60, max_queue=None) for u in senders]

    async def drain(ws) -> None:
        async for _ in ws:
            pass

    drains = [asyncio.create_task(drain(ws)) for ws in sockets]

    async def room(r: int) -> None:
        start = time.monotonic() + r / rooms / rate  # spread the rooms over one tick
        for k in range(int(rate * seconds)):
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = {"action": "sendMessage", "room": f"room-{r}", "text": repr(time.time()), "clientId": f"{r}-{k}"}
            await sockets[r].send(json.dumps(frame))
            sent[r] += 1

    await asyncio.gather(*(room(r) for r in range(rooms)))
    await asyncio.sleep(0.5)
    for task in drains:
        task.cancel()
    for ws in sockets:
        await ws.close()
    return sent


def _measure(kind: str, users: int, rooms: int, rate: float, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
        app = APP if kind == "chat" else BARE
        dev = [sys.executable, "-m", "strato.cli", "dev", app, "--port", str(port), "--data", data]
        with process([*dev, "--log-level", "warning"], port, {"STRATO_PROVIDER": "local"}) as proc:
            if kind == "chat":
                tokens = _tokens(base, data, users)
                asyncio.run(_joins(f"{ws_base}/ws/chat", tokens, rooms))
                urls = [f"{ws_base}/ws/chat?token={t}" for t in tokens]
                senders = urls[:rooms]  # user r is in room r: its second tab sends
            else:
                urls = [f"{ws_base}/ws/live?room=room-{i % rooms}" for i in range(users)]
                senders = [f"{ws_base}/ws/live?room=sender-{r}" for r in range(rooms)]
            before = _rss_kb(proc.pid)
            opened = time.perf_counter()
            fleet = ChatFleet(urls, Path(data))
            connect_s = time.perf_counter() - opened
            try:
                time.sleep(1)
                per_connection = (_rss_kb(proc.pid) - before) / max(fleet.count, 1)
                cpu_before = _process_cpu(proc.pid)
                sent = asyncio.run(_send(senders, rooms, rate, seconds))
                expected = sum(sent[i % rooms] for i in range(fleet.count))
                latencies: list[float] = []
                received = duplicates = 0
                deadline = time.monotonic() + 30
                while True:
                    report = fleet.report()
                    latencies += report["latencies"]
                    received, duplicates = report["received"], report["duplicates"]
                    if received >= expected or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                cpu_ms = (_process_cpu(proc.pid) - cpu_before) * 1000 / max(sum(sent), 1)
            finally:
                fleet.close()
    return {
        "connections": fleet.count,
        "connect_s": connect_s,
        "memory_kb": per_connection,
        "sent": sum(sent),
        "expected": expected,
        "received": received,
        "lost": expected - received,
        "duplicates": duplicates,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": _p(latencies, 0.95),
        "p99": _p(latencies, 0.99),
        "cpu_ms": cpu_ms,
    }


def run(quick: bool = False) -> list[Row]:
    raise_nofile()
    users, rooms = (200, 10) if quick else (1000, 50)
    rate, seconds = 5.0, 5 if quick else 10
    bare = _measure("bare", users, rooms, rate, seconds)
    chat = _measure("chat", users, rooms, rate, seconds)
    label = f"{users} users in {rooms} rooms, {rate:g} msg/s per room, {seconds} s"
    return [
        Row("chat", f"{label}: connected", chat["connections"], users, "users", "connections"),
        Row(
            "chat", f"{label}: delivery p50", chat["p50"], bare["p50"], "bare ws fan-out", "ms", higher_is_better=False
        ),
        Row(
            "chat",
            f"{label}: delivery p95",
            chat["p95"],
            bare["p95"],
            "bare ws fan-out",
            "ms",
            "p95 < 100 ms",
            higher_is_better=False,
        ),
        Row("chat", f"{label}: delivered", chat["received"], chat["expected"], "expected", "messages", "nothing lost"),
        Row(
            "chat",
            f"{label}: lost + duplicated",
            chat["lost"] + chat["duplicates"],
            bare["lost"] + bare["duplicates"],
            "bare ws fan-out",
            "messages",
            "0",
            higher_is_better=False,
        ),
        Row(
            "chat",
            f"server CPU per message (handler + {users // rooms} deliveries)",
            chat["cpu_ms"],
            bare["cpu_ms"],
            "bare ws fan-out",
            "ms",
            higher_is_better=False,
        ),
        Row(
            "chat",
            "server memory per open connection",
            chat["memory_kb"],
            bare["memory_kb"],
            "bare ws",
            "KB",
            higher_is_better=False,
        ),
        Row(
            "chat",
            f"{users} connections opened (JWT on $connect, rooms looked up)",
            chat["connect_s"],
            bare["connect_s"],
            "bare ws",
            "s",
            higher_is_better=False,
        ),
    ]


if __name__ == "__main__":
    from .support import print_rows

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    print_rows(run(quick="--quick" in sys.argv))
    os._exit(0)
