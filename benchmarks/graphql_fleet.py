"""GraphQL subscription clients in a separate process: ``python -m benchmarks.graphql_fleet URL N`` opens N
graphql-transport-ws connections on ws_fleet's bare asyncio client (arrival stamped in ``data_received``,
before any parsing), sends connection_init, subscribes each to ``ticks`` on connection_ack, prints
``ready <n>``; then ``round <json list of ms>`` (arrival minus the event's ``t``) once every client got
a publish (or 10 s passed); ``quit`` on stdin ends it."""

from __future__ import annotations

import asyncio
import json
import sys
from urllib.parse import urlsplit

from .ws_fleet import _Client, _Sink, raise_nofile

INIT = json.dumps({"type": "connection_init"}).encode()
SUBSCRIBE = json.dumps(
    {"id": "1", "type": "subscribe", "payload": {"query": "subscription { ticks { n t } }"}}
).encode()


def frame(payload: bytes) -> bytes:
    """A client text frame, masked with a zero key (so the payload goes as is)."""
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


class _Latencies(_Sink):
    def arrived(self, now: float, payload: bytes) -> None:
        if not self.latencies:
            self.first = now
        self.latencies.append((now - json.loads(payload)["payload"]["data"]["ticks"]["t"]) * 1000)
        if len(self.latencies) >= self.expected:
            self.report()


class _Protocol:
    """Between a client and the shared sink: answers connection_ack with the subscribe, counts subscribed."""

    def __init__(self, sink: _Latencies, subscribed: asyncio.Queue) -> None:
        self.sink = sink
        self.subscribed = subscribed
        self.client: _Client | None = None

    def arrived(self, now: float, payload: bytes) -> None:
        if payload.startswith(b'{"type":"connection_ack"') or payload.startswith(b'{"type": "connection_ack"'):
            assert self.client is not None and self.client.transport is not None
            self.client.transport.write(frame(SUBSCRIBE))
            self.subscribed.put_nowait(None)
        else:
            self.sink.arrived(now, payload)


async def main(url: str, count: int) -> None:
    raise_nofile()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    sink, subscribed = _Latencies(), asyncio.Queue()
    clients = []
    for start in range(0, count, 100):
        group = []
        for _ in range(min(100, count - start)):
            relay = _Protocol(sink, subscribed)
            client = _Client(f"{host}:{port}", parts.path, relay)  # type: ignore[arg-type]
            client.request = client.request.replace(
                b"\r\n\r\n", b"\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            )
            relay.client = client
            group.append(client)
        await asyncio.gather(*(loop.create_connection(lambda c=c: c, host, port) for c in group))
        await asyncio.gather(*(c.upgraded for c in group))
        for c in group:
            c.transport.write(frame(INIT))
        clients += group
    for _ in range(count):
        await asyncio.wait_for(subscribed.get(), 60)
    sink.expected = count
    watchdog = asyncio.create_task(sink.watchdog())
    print("ready", count, flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while (await reader.readline()).decode().strip() not in ("quit", ""):
        pass
    watchdog.cancel()
    for c in clients:
        c.transport.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
