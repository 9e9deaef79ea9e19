"""The chat's WebSocket API: connections and presence, then the client actions (JSON text frames).

Presence counts connections per user atomically (DynamoDB ADD), so with several tabs the first
connection to open says "online" and the last to close says "offline", even when tabs open or close
at the same moment; a count left behind by a connection that vanished without $disconnect is set
right from the connection registry the next time the user connects or disconnects.
"""

from __future__ import annotations

from typing import Any

from chat_model import (
    DAY_S,
    MAX_TEXT,
    Refused,
    add_listener,
    chat,
    deliver,
    is_direct,
    listen,
    listeners,
    members,
    message_frame,
    messages,
    now,
    online,
    place,
    post_many,
    presence,
    profile,
    profiles,
    room_name,
    send_quietly,
    sent,
    unlisten,
    where,
)

import strato
from strato import ConditionFailed

CLIENT_ID_MAX = 64


# -- connections and presence -------------------------------------------------------------------------
@chat.on_connect
def connect(conn: strato.websocket.Connection) -> None:
    user = conn.claims["sub"]
    conn.data["user"] = user
    profiles.update(user, set={k: conn.claims[k] for k in ("email", "name") if conn.claims.get(k)})
    rooms = [row["room"] for row in members.iterate(user, index="by_user", page_size=500)]
    for room in rooms:  # this connection hears the user's rooms from now on
        add_listener(room, conn.id, user)
    count = presence.update(user, add={"connections": 1})["connections"]
    others = [c for c in chat.connections(where={"user": user}) if c.id != conn.id]
    if count > 1 and not others:  # counted connections that vanished without $disconnect
        presence.put({"userId": user, "connections": 1})
        count = 1
    if count == 1:
        announce(user, rooms, "online")


@chat.on_disconnect
def disconnect(msg: strato.websocket.WsMessage) -> None:
    user = (msg.claims or {}).get("sub") or msg.connection.data.get("user")
    if not user:
        return
    rooms = [row["room"] for row in members.iterate(user, index="by_user", page_size=500)]
    for room in rooms:
        listeners.delete((room, msg.connection_id))
    count = presence.update(user, add={"connections": -1})["connections"]
    others = [c for c in chat.connections(where={"user": user}) if c.id != msg.connection_id]
    if count > 0 and not others:
        presence.put({"userId": user, "connections": 0})
        count = 0
    if count <= 0:
        announce(user, rooms, "offline")


def announce(user: str, rooms: list[str], status: str) -> None:
    """Tell the members of every room ``user`` shares (their other connections included) once."""
    told: set[str] = set()
    frame = {"type": "presence", "user": user, "status": status}
    for room in rooms:
        ids = [r["connectionId"] for r in listeners.iterate(room, page_size=500) if r["userId"] != user]
        fresh = [i for i in ids if i not in told]
        told.update(fresh)
        if fresh:
            post_many(fresh, frame)


# -- actions -------------------------------------------------------------------------------------------
def action(name: str):
    """Route ``name``: the body must be a JSON object; a Refused becomes an error frame to the sender."""

    def register(fn):
        def handler(msg: strato.websocket.WsMessage) -> Any:
            body: Any = None
            try:
                body = msg.json()
                if not isinstance(body, dict):
                    raise Refused("bad-request", "send a JSON object")
                return fn(body, msg.claims["sub"], msg)
            except Refused as refused:
                error = {"type": "error", "code": refused.code, "message": refused.message, "action": name}
                if isinstance(body, dict) and isinstance(body.get("clientId"), str):
                    error["clientId"] = body["clientId"]
                return error

        chat.route(name)(handler)
        return fn

    return register


@action("join")
def join(body: dict, user: str, msg: Any) -> dict:
    room = room_name(body.get("room"))
    joined = members.get((room, user)) is None
    if joined:
        members.put({"room": room, "userId": user, "kind": "room", "joinedAt": now(), "lastRead": ""})
        listen(room, user)
        deliver(room, {"type": "joined", "room": room, "user": user, "name": profile(user)["name"]}, skip_user=user)
    roster = [{**profile(m["userId"]), "online": online(m["userId"])} for m in members.iterate(room, page_size=500)]
    return {"type": "joined", "room": room, "user": user, "members": roster}


@action("leave")
def leave(body: dict, user: str, msg: Any) -> dict:
    room = place(body, user)
    if is_direct(room):
        raise Refused("bad-request", "a direct conversation cannot be left")
    members.delete((room, user))
    unlisten(room, user)
    deliver(room, {"type": "left", **where(room), "user": user})
    return {"type": "left", **where(room), "user": user}


@action("sendMessage")
def send_message(body: dict, user: str, msg: Any) -> None:
    text, client_id = body.get("text"), body.get("clientId")
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
        raise Refused("bad-request", f"text: a string of 1 to {MAX_TEXT} characters")
    if client_id is not None and (not isinstance(client_id, str) or not 1 <= len(client_id) <= CLIENT_ID_MAX):
        raise Refused("bad-request", f"clientId: a string of 1 to {CLIENT_ID_MAX} characters")
    room = place(body, user, create=True)
    t = now()
    name = (msg.claims or {}).get("name") or profile(user)["name"]  # the ID token's name: no lookup per message
    item = {"room": room, "id": strato.new_id(), "from": user, "name": name, "text": text, "ts": t}
    if client_id is not None:
        item["clientId"] = client_id
        try:  # a resend after a lost ack: the same message again, not a second one
            sent.put(
                {"key": f"{room}|{user}|{client_id}", "id": item["id"], "expiresAt": int(t + DAY_S)}, if_absent=True
            )
        except ConditionFailed:
            first = sent.get(f"{room}|{user}|{client_id}")
            stored = messages.get((room, first["id"])) if first else None
            if stored is not None:
                send_quietly(msg.connection_id, message_frame(stored))
                return
    messages.put(item)
    deliver(room, message_frame(item))


@action("typing")
def typing(body: dict, user: str, msg: Any) -> None:
    room = place(body, user)
    deliver(room, {"type": "typing", **where(room), "from": user}, skip_user=user)


@action("read")
def read(body: dict, user: str, msg: Any) -> None:
    room = place(body, user)
    up_to = body.get("upTo")
    if not isinstance(up_to, str) or messages.get((room, up_to)) is None:
        raise Refused("bad-request", "upTo: the id of a message of this room")
    current = (members.get((room, user)) or {}).get("lastRead", "")
    if current >= up_to:  # the marker only moves forward (receipts can arrive out of order)
        return
    try:
        members.update((room, user), set={"lastRead": up_to}, if_match={"lastRead": current})
    except ConditionFailed:
        return
    deliver(room, {"type": "read", **where(room), "user": user, "upTo": up_to})


@chat.on_message
def unknown(msg: strato.websocket.WsMessage) -> dict:
    return {"type": "error", "code": "bad-request", "message": "actions: join, leave, sendMessage, typing, read"}
