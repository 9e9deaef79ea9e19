"""A WebSocket app exercising every gateway behaviour the tests check."""

import os

import strato
from strato import HTTPError

app = strato.App("wstest")
live = app.websocket(
    "live",
    index=["user", "room"],
    idle_timeout=float(os.environ.get("TEST_WS_IDLE", "600")),
    max_duration=float(os.environ.get("TEST_WS_MAX", "7200")),
)
strict = app.websocket("strict")
log = app.table("log", key="id")
pushes = app.queue("pushes")
api = app.http()


@live.on_connect
def connect(conn):
    token = conn.query.get("token")
    if token is None:
        raise HTTPError(401, "token required")
    if token == "bad":
        raise HTTPError(403, "token refused")
    conn.data.update(user=token, room=conn.query.get("room", "lobby"), agent=conn.headers.get("user-agent", ""))
    try:
        live.send(conn.id, "too early")
        conn.data["early_send"] = "sent"
    except strato.GoneError:
        conn.data["early_send"] = "gone"


@live.on_disconnect
def disconnect(msg):
    context = msg.event["requestContext"]
    log.put({"id": msg.connection_id, "code": context["disconnectStatusCode"], "reason": context["disconnectReason"]})


@live.route("echo")
def echo(msg):
    return {"echo": msg.json(), "me": msg.connection.data["user"], "route": msg.route}


@live.route("join")
def join(msg):
    info = live.update(msg.connection_id, room=msg.json()["room"])
    return {"joined": info.data["room"]}


@live.route("say")
def say(msg):
    sent = live.broadcast(
        {"from": msg.connection.data["user"], "text": msg.json()["text"]}, where={"room": msg.connection.data["room"]}
    )
    return {"delivered": sent}


@live.route("boom")
def boom(msg):
    raise RuntimeError("handler failed")


@live.on_message
def default(msg):
    return {
        "default": len(msg.body) if msg.is_binary else msg.body[:50],
        "binary": msg.is_binary,
        "size": len(msg.body),
    }


@strict.route("only")
def only(msg):
    return "ok"


@api.post("/push/{cid}")
def push(req, cid):
    live.send(cid, req.text)
    return {"sent": True}


@api.get("/connections")
def connections(req):
    where = {"room": req.query["room"]} if "room" in req.query else None
    return {"items": [c.as_dict() for c in live.connections(where=where)]}


@api.delete("/connections/{cid}")
def kick(req, cid):
    live.close(cid)
    return None


@api.get("/log/{cid}")
def disconnect_log(req, cid):
    return log.get(cid) or (404, {"message": "no disconnect yet"})


@api.post("/queue-push")
def queue_push(req):
    pushes.send(req.json())
    return 202, {}


@pushes.consumer(batch_size=1)
def deliver(msg):
    body = msg.json()
    live.send(body["cid"], body["text"])
