"""A WebSocket API for the gateway's dispatch tests: handlers that take a random while (order), and one
that holds its connection's handler until another connection releases it (backlog)."""

from __future__ import annotations

import random
import threading
import time

import strato

app = strato.App("wsorder")
live = app.websocket("live")
released = threading.Event()


@live.route("echo")
def echo(msg: strato.websocket.WsMessage) -> dict:
    time.sleep(random.random() * 0.004)  # concurrent handling would reorder the answers
    return {"n": msg.json()["n"]}


@live.route("hold")
def hold(msg: strato.websocket.WsMessage) -> dict:
    released.clear()
    msg.reply({"holding": True})
    released.wait(10)
    return {"held": True}


@live.route("release")
def release(msg: strato.websocket.WsMessage) -> dict:
    released.set()
    return {"released": True}
