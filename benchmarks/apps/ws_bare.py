"""The baseline: a bare `websockets` server broadcasting one message to every client, on request."""

import asyncio
import json
import sys
import time

import websockets
from websockets.asyncio.server import broadcast, serve

clients: set = set()


async def handler(ws):
    if ws.request.path == "/control":
        async for _ in ws:
            broadcast(clients, json.dumps({"t": time.time(), "pad": "x" * 100}))
            await ws.send(json.dumps({"sent": len(clients)}))
        return
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)


async def main(port: int) -> None:
    # no permessage-deflate, as API Gateway and strato dev: both sides do the same work per message
    async with serve(handler, "127.0.0.1", port, max_size=128 * 1024, compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    assert websockets
    asyncio.run(main(int(sys.argv[1])))
