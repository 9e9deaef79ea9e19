"""Token verification throughput and meeting-signalling relay latency.

- verify: ``pool.verify`` (RS256 + every claim check + revocation and user lookups in SQLite) against
  PyJWT's bare ``jwt.decode`` with the same key and no lookups.
- signalling: a message from one attendee to another and back through ``strato dev``'s signalling
  endpoint, against the same two-hop relay written directly on the ``websockets`` library.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from .support import ROOT, Row, free_port, process

MEETING_APP = """
import strato
app = strato.App("benchcalls")
calls = app.meetings("calls")
"""


def verify_rates(count: int) -> tuple[float, float]:
    import jwt

    import strato

    with tempfile.TemporaryDirectory() as tmp:
        app = strato.App("bench-auth", data_dir=Path(tmp))
        pool = app.user_pool("users")
        pool.sign_up("alice", "Corr3ct-horse!", {"email": "alice@example.com"})
        pool.confirm_sign_up("alice", pool.outbox()[-1]["message"].rsplit(" ", 1)[1])
        token = pool.sign_in("alice", "Corr3ct-horse!").access_token
        key = pool.backend.store.keys.public_key(jwt.get_unverified_header(token)["kid"])
        pool.verify(token)
        start = time.perf_counter()
        for _ in range(count):
            pool.verify(token)
        ours = count / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(count):
            jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})
        bare = count / (time.perf_counter() - start)
        app.close()
    return ours, bare


async def _round_trips(url_a: str, url_b: str, count: int, to_b: str | None, to_a: str | None) -> list[float]:
    import websockets

    async with websockets.connect(url_a) as a, websockets.connect(url_b) as b:
        if to_b is not None:  # strato: skip the welcome / joined frames
            await a.recv()
            await b.recv()
            await a.recv()

        async def echo() -> None:
            for _ in range(count):
                message = json.loads(await b.recv())
                message.update(type="pong", to=to_a)
                await b.send(json.dumps(message))

        task = asyncio.create_task(echo())
        times = []
        for n in range(count):
            started = time.perf_counter()
            await a.send(json.dumps({"type": "ping", "to": to_b, "n": n}))
            reply = json.loads(await a.recv())
            times.append((time.perf_counter() - started) * 1000)
            if reply.get("type") != "pong" or reply.get("n") != n:
                raise RuntimeError(f"the relay answered {reply!r}, not the pong of message {n}")
        await task
    return times


BARE_RELAY = """
import asyncio, sys
import websockets

clients = []

async def handler(ws):
    clients.append(ws)
    async for frame in ws:
        for other in clients:
            if other is not ws:
                await other.send(frame)

async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1])):
        await asyncio.Future()

asyncio.run(main())
"""


def signalling(count: int) -> tuple[tuple[float, float], tuple[float, float]]:
    def pct(values: list[float]) -> tuple[float, float]:
        values = sorted(values)
        return values[len(values) // 2], values[int(len(values) * 0.95)]

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "calls_app.py"
        spec.write_text(MEETING_APP)
        port = free_port()
        data = Path(tmp) / "data"
        args = [
            sys.executable,
            "-m",
            "strato.cli",
            "dev",
            str(spec),
            "--port",
            str(port),
            "--data",
            str(data),
            "--no-worker",
        ]
        with process(args, port, env={"PYTHONPATH": str(ROOT / "src")}):
            import strato

            app = strato.App("benchcalls", data_dir=data)
            calls = app.meetings("calls")
            meeting = calls.create_meeting("bench-room")
            ann, bob = (calls.create_attendee(meeting["MeetingId"], u) for u in ("user-ann", "user-bob"))
            base = meeting["MediaPlacement"]["SignalingUrl"]
            ours = asyncio.run(
                _round_trips(
                    f"{base}&token={ann['JoinToken']}",
                    f"{base}&token={bob['JoinToken']}",
                    count,
                    bob["AttendeeId"],
                    ann["AttendeeId"],
                )
            )
            app.close()
    port = free_port()  # the baseline relay also runs in its own process, as strato dev does
    with process([sys.executable, "-c", BARE_RELAY, str(port)], port):
        bare = asyncio.run(_round_trips(f"ws://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", count, None, None))
    return pct(ours), pct(bare)


def run(quick: bool = False) -> list[Row]:
    ours, bare = verify_rates(500 if quick else 3000)
    (p50, p95), (b50, b95) = signalling(300 if quick else 2000)
    return [
        Row("auth", "verify access token (local pool)", ours, bare, "PyJWT decode, no lookups", "tokens/s", ""),
        Row("meetings", "signalling round trip p50", p50, b50, "bare websockets relay", "ms", higher_is_better=False),
        Row(
            "meetings",
            "signalling round trip p95",
            p95,
            b95,
            "bare websockets relay",
            "ms",
            "< 20 ms",
            higher_is_better=False,
        ),
    ]
