"""GraphQL subscription clients in a separate process: ``python -m benchmarks.graphql_fleet URL N``
opens N graphql-transport-ws connections (the ``websockets`` client), subscribes each to ``ticks``, prints
``ready <n>``; then after each publish prints ``round <json list of ms>`` (arrival minus the event's
``t``) once every client got it (or 10 s passed); ``quit`` on stdin ends it."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from websockets.asyncio.client import connect

SUBSCRIBE = {"id": "1", "type": "subscribe", "payload": {"query": "subscription { ticks { n t } }"}}


async def client(url: str, arrivals: asyncio.Queue) -> None:
    async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps(SUBSCRIBE))
        await arrivals.put(None)  # subscribed
        async for raw in ws:
            now = time.time()
            message = json.loads(raw)
            if message.get("type") == "next":
                await arrivals.put((now - message["payload"]["data"]["ticks"]["t"]) * 1000)


async def main(url: str, count: int) -> None:
    arrivals: asyncio.Queue = asyncio.Queue()
    tasks = []
    for i in range(count):
        tasks.append(asyncio.ensure_future(client(url, arrivals)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not flood the accept queue
    for _ in range(count):
        await arrivals.get()
    print(f"ready {count}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line != "next":
            break
        got: list[float] = []
        try:
            while len(got) < count:
                got.append(await asyncio.wait_for(arrivals.get(), 10))
        except TimeoutError:
            pass
        print("round " + json.dumps(got), flush=True)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
