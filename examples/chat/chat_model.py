"""The chat app's resources and the rules every handler shares (who is in which room, who hears what).

One module declares everything, so app.py (HTTP), chat_live.py (WebSocket) and chat_calls.py (calls)
see the same tables. Rooms and direct conversations are both "rooms" in the tables: a direct
conversation's id is ``dm:<user id>:<user id>`` (the two sorted), which no room name can be.
"""

from __future__ import annotations

import re
from typing import Any

import strato
from strato import GoneError, ServiceUnavailable

DAY_S = 24 * 3600  # the seed's connection TTL: rows naming a connection expire after 24 hours
MAX_TEXT = 4000
ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
CONNECT_GRACE_S = 30  # a $connect runs at most 29 s (API Gateway): a younger connection may not be registered yet

app = strato.App("chat")
users = app.user_pool("users", allow=())  # sign-up / sign-in only: no Admin* calls, so no IAM
profiles = app.table("profiles", key="userId", indexes={"by_email": ("email", "userId")})
# one row per member of a room or direct conversation: its read marker lives here (unread counts)
members = app.table("members", key="room", sort="userId", indexes={"by_user": ("userId", "room")})
messages = app.table("messages", key="room", sort="id")  # ids are ULIDs: sort order is send order
# which connections hear a room: one query per message instead of one per member
listeners = app.table("listeners", key="room", sort="connectionId", ttl="expiresAt")
sent = app.table("sent", key="key", ttl="expiresAt")  # (room, sender, clientId) -> id: a resend is not a new message
presence = app.table("presence", key="userId")  # open connections per user: online at 1, offline at 0
calls = app.table("calls", key="callId", ttl="expiresAt")
chat = app.websocket("chat", auth=True, index=["user"])
meetings = app.meetings("calls")
site = app.site("web", directory="web/bundle")  # built from web/ (amazon-chime-sdk-js + the page)
api = app.http()
app.output("WebSocketUrl", "ChatWebSocketApiUrl")
app.output("UserPoolId", "UsersUserPool")
app.output("UserPoolClientId", "UsersUserPoolClient")


class Refused(Exception):
    """A request the caller may not make: a WebSocket error frame, or an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def now() -> float:
    return strato.now()


def direct_id(a: str, b: str) -> str:
    """The one conversation two users share, whoever writes first."""
    low, high = sorted((a, b))
    return f"dm:{low}:{high}"


def is_direct(room: str) -> bool:
    return room.startswith("dm:")


def where(room: str) -> dict[str, str]:
    """How a frame names its place: ``room`` for rooms, ``conversation`` for direct conversations."""
    return {"conversation": room} if is_direct(room) else {"room": room}


def room_name(value: Any) -> str:
    if not isinstance(value, str) or not ROOM_NAME.fullmatch(value):
        raise Refused("bad-request", "room: 1-64 letters, digits, '-' or '_'")
    return value


def place(body: dict, user: str, *, create: bool = False) -> str:
    """The room or direct conversation a request names (``room``, ``conversation`` or ``to``), which
    ``user`` must belong to (``create``: a first direct message opens the conversation)."""
    if "to" in body:
        peer = body["to"]
        if not isinstance(peer, str) or not 0 < len(peer) <= 128 or peer == user:
            raise Refused("bad-request", "to: another user's id")
        room = direct_id(user, peer)
        if members.get((room, user)) is None:
            if not create:
                raise Refused("forbidden", "no conversation with this user yet", 403)
            if profiles.get(peer) is None:
                raise Refused("unknown-user", "no such user", 404)
            open_direct(room, user, peer)
        return room
    value = body.get("room", body.get("conversation"))
    room = value if isinstance(value, str) and is_direct(value) and len(value) <= 300 else room_name(value)
    if members.get((room, user)) is None:
        raise Refused("forbidden", "you are not a member of this room (join it first)", 403)
    return room


def open_direct(room: str, user: str, peer: str) -> None:
    t = now()
    for me, other in ((user, peer), (peer, user)):
        members.put({"room": room, "userId": me, "kind": "direct", "peer": other, "joinedAt": t, "lastRead": ""})
        listen(room, me)


def listen(room: str, user: str) -> None:
    """Every open connection of ``user`` hears ``room`` from now on."""
    for conn in chat.connections(where={"user": user}):
        add_listener(room, conn.id, user)


def add_listener(room: str, connection_id: str, user: str) -> None:
    t = now()
    listeners.put(
        {"room": room, "connectionId": connection_id, "userId": user, "since": t, "expiresAt": int(t + DAY_S)}
    )


def unlisten(room: str, user: str) -> None:
    for row in listeners.iterate(room, page_size=500):
        if row["userId"] == user:
            listeners.delete((room, row["connectionId"]))


def deliver(room: str, frame: dict, *, skip_user: str | None = None) -> int:
    """Post ``frame`` to every connection listening to ``room``; returns how many got it."""
    rows = [r for r in listeners.iterate(room, page_size=500) if r["userId"] != skip_user]
    if not rows:
        return 0
    gone = post_many([r["connectionId"] for r in rows], frame)
    for row in rows:  # a connection that closed without $disconnect; a brand-new one may not be registered yet
        if row["connectionId"] in gone and row["since"] < now() - CONNECT_GRACE_S:
            listeners.delete((room, row["connectionId"]))
    return len(rows) - len(gone)


def tell_user(user: str, frame: dict) -> None:
    """Post ``frame`` to every open connection (tab) of ``user``."""
    ids = [c.id for c in chat.connections(where={"user": user})]
    if ids:
        post_many(ids, frame)


def post_many(ids: list[str], frame: dict) -> set[str]:
    """Post to every connection of ``ids``; the gone ones. A client too slow to read (its buffer full:
    API Gateway's LimitExceededException) misses this frame, not the others theirs: it catches up from
    history when it reconnects."""
    try:
        return set(chat.send_many(ids, frame))
    except ServiceUnavailable:
        return set()


def send_quietly(connection_id: str, frame: dict) -> None:
    try:
        chat.send(connection_id, frame)
    except GoneError:
        pass


def profile(user: str) -> dict[str, Any]:
    found = profiles.get(user) or {}
    return {"userId": user, "name": found.get("name") or found.get("email") or user[:8]}


def online(user: str) -> bool:
    row = presence.get(user)
    return bool(row and row.get("connections", 0) > 0)


def message_frame(item: dict) -> dict:
    frame = {"type": "message", "id": item["id"], **where(item["room"]), "from": item["from"]}
    frame.update(text=item["text"], ts=item["ts"], clientId=item.get("clientId"), name=item.get("name"))
    return frame
