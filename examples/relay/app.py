"""relay: an end-to-end encrypted terminal relay on strato's WebSocket API.

A CLI shares a live terminal with up to five browsers; this server pairs them, relays and stores
ciphertext only (it never holds a key), and replays the backlog to a side that reconnects.
Run it:  strato dev examples/relay/app.py   (RELAY_AUTH=1 to require user-pool tokens)
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import secrets
import uuid
from typing import Any

import strato
from strato import ConditionFailed, GoneError, HTTPError, Sort

AUTH = os.environ.get("RELAY_AUTH") == "1"
DAY_S = 24 * 3600
CODE_TTL_S = float(os.environ.get("RELAY_CODE_TTL", "600"))  # pairing codes: 10 minutes (lower for tests)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or typed without doubt
CODE_LENGTH = 8
MAX_VIEWERS = 5
MAX_PAYLOAD = 24 * 1024  # base64 characters: below API Gateway's 32 KB frame limit with the envelope
ROLES = ("cli", "web")
# pairing-code guesses (31**8 codes): a connection and a source address get so many failed joins by code per
# window, then {"type": "error", "code": "rate-limited", "retryAfter": s}; counted in a table, so every
# Lambda instance sees the same counts
JOIN_WINDOW_S = float(os.environ.get("RELAY_JOIN_WINDOW", "60"))
JOINS_PER_CONNECTION = int(os.environ.get("RELAY_JOINS_PER_CONNECTION", "5"))
JOINS_PER_SOURCE = int(os.environ.get("RELAY_JOINS_PER_SOURCE", "30"))
BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")

app = strato.App("relay")
users = app.user_pool("users")
connections = app.table(
    "connections", key="connectionId", indexes={"by_session": ("sessionId", "connectedAt:number")}, ttl="expiresAt"
)
sessions = app.table(
    "sessions",
    key="sessionId",
    indexes={"by_user": ("userId", "createdAt:number"), "by_code": ("pairingCode", "createdAt:number")},
    ttl="expiresAt",
)
messages = app.table("messages", key="sessionId", sort="position", ttl="expiresAt")
attempts = app.table("attempts", key="scope", ttl="expiresAt")  # join-by-code guesses per window
relay = app.websocket("relay", auth=True if AUTH else None)
app.output("WebSocketUrl", "RelayWebSocketApiUrl")  # the names clients and the seed's scripts use
app.output("UserPoolId", "UsersUserPool")
app.output("UserPoolClientId", "UsersUserPoolClient")
app.output("WebUrl", "WebUrl")  # already so named by the site "web"; listed to fail loudly if that changes
app.output("WebBucketName", "WebBucketName")
site = app.site("web", directory="web/bundle", auth=users if AUTH else None)  # built from web/ (xterm.js)


class Refused(Exception):
    """A protocol error: answered to the sender as {"type": "error", "code", "message"}."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


# -- helpers ---------------------------------------------------------------------------------------
def now() -> float:
    return strato.now()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def field(body: dict, name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Refused("bad-request", f"{name!r} is missing or of the wrong type")
    return value


def public_key(body: dict) -> str:
    key = field(body, "publicKey", str)
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise Refused("bad-request", "publicKey must be a base64 X25519 public key (32 bytes)")
    return key


# a connection's item once it is in a session: its role, user and session never change after that (attach
# refuses another session), so its frames need not read it again; per process (a warm Lambda instance),
# forgotten on $disconnect here and, past MEMO_MAX entries, all at once
_in_session: dict[str, dict] = {}
MEMO_MAX = 50_000


def me(msg: strato.websocket.WsMessage) -> dict:
    item = _in_session.get(msg.connection_id)
    if item is not None:
        return item
    item = connections.get(msg.connection_id)
    if item is None:
        raise Refused("bad-request", "this connection is unknown (reconnect)")
    if item.get("sessionId"):
        if len(_in_session) >= MEMO_MAX:
            _in_session.clear()
        _in_session[msg.connection_id] = item
    return item


def session_of(body: dict, conn: dict) -> dict:
    """The open session the body names, which this connection's user may use."""
    session_id = field(body, "sessionId", str)
    session = sessions.get(session_id) if 0 < len(session_id) <= 64 else None
    if session is None or (AUTH and session.get("userId") != conn.get("userId")):
        raise Refused("unknown-session", "no such session (or it expired)")
    if session.get("closed"):
        raise Refused("session-closed", "this session was closed")
    return session


def joined_session(body: dict, conn: dict) -> dict:
    """The session the body names, which this connection joined (or resumed)."""
    session = session_of(body, conn)
    if conn.get("sessionId") != session["sessionId"]:
        raise Refused("not-in-session", "join or resume the session first")
    return session


def members(session_id: str) -> list[dict]:
    return connections.query(session_id, index="by_session").items


def deliver(targets: list[dict], frame: dict) -> None:
    if len(targets) > 1:  # one post for all viewers
        relay.broadcast(frame, to=[t["connectionId"] for t in targets])
        return
    for target in targets:
        try:
            relay.send(target["connectionId"], frame)
        except GoneError:  # left without a $disconnect yet: forget it
            connections.delete(target["connectionId"])


def others(conn: dict, role: str | None = None) -> list[dict]:
    return [
        c
        for c in members(conn["sessionId"])
        if c["connectionId"] != conn["connectionId"] and (role is None or c["role"] == role)
    ]


def attach(conn: dict, session: dict, **extra: Any) -> dict:
    """Put this connection in the session (the viewer limit holds for browsers)."""
    if conn.get("sessionId") not in (None, session["sessionId"]):
        raise Refused("bad-request", "this connection already belongs to another session")
    if conn["role"] == "web" and conn.get("sessionId") != session["sessionId"]:
        viewers = [c for c in members(session["sessionId"]) if c["role"] == "web"]
        if len(viewers) >= MAX_VIEWERS:
            raise Refused("session-full", f"a session has at most {MAX_VIEWERS} web viewers")
    return connections.update(conn["connectionId"], set={"sessionId": session["sessionId"], **extra})


# -- connection lifecycle ----------------------------------------------------------------------------
@relay.on_connect
def connect(conn: strato.websocket.Connection) -> None:
    role = conn.query.get("role")
    if role not in ROLES:
        raise HTTPError(400, "connect with ?role=cli or ?role=web")
    item = {"connectionId": conn.id, "role": role, "connectedAt": now(), "expiresAt": int(now() + DAY_S)}
    item["sourceIp"] = conn.source_ip  # whose pairing guesses count together (join_attempt)
    if AUTH:
        item["userId"] = conn.claims["sub"]
    connections.put(item)


@relay.on_disconnect
def disconnect(msg: strato.websocket.WsMessage) -> None:
    _in_session.pop(msg.connection_id, None)
    conn = connections.delete(msg.connection_id)
    if conn and conn.get("sessionId"):
        left = {"type": "peer-left", "role": conn["role"]}
        if conn.get("publicKey"):  # which viewer: the CLI stops encrypting for it
            left["peerPublicKey"] = conn["publicKey"]
        deliver(others(conn), left)


# -- actions ---------------------------------------------------------------------------------------
def action(name: str):
    """Route ``name``; a Refused becomes an error frame to the sender."""

    def register(fn):
        def handler(msg: strato.websocket.WsMessage) -> Any:
            try:
                body = msg.json()
                if not isinstance(body, dict):
                    raise Refused("bad-request", "send a JSON object")
                return fn(body, me(msg))
            except Refused as refused:
                return {"type": "error", "code": refused.code, "message": refused.message, **refused.extra}

        relay.route(name)(handler)
        return fn

    return register


@action("create")
def create(body: dict, conn: dict) -> dict:
    if conn["role"] != "cli":
        raise Refused("forbidden", "only a CLI creates sessions")
    if conn.get("sessionId"):
        raise Refused("bad-request", "this connection already has a session")
    key = public_key(body)
    session_id, code, t = uuid.uuid4().hex, new_code(), now()
    while sessions.query(code, index="by_code", limit=1).items:  # 31**8 codes: a clash is rare, never shared
        code = new_code()
    session = {
        "sessionId": session_id,
        "cliPublicKey": key,
        "pairingCode": code,
        "codeExpiresAt": t + CODE_TTL_S,
        "createdAt": t,
        "expiresAt": int(t + DAY_S),
    }
    if AUTH:
        session["userId"] = conn["userId"]
    sessions.put(session, if_absent=True)
    attach(conn, session)
    return {"type": "session", "sessionId": session_id, "pairingCode": code}


def join_attempt(conn: dict) -> list[tuple[str, int]]:
    """Count one join by code against this connection and its source address (atomic adds, so parallel
    guesses cannot slip past); over a limit, Refused. Returns the counters a successful join gives back."""
    t = now()
    window = int(t // JOIN_WINDOW_S)
    retry = max(1, math.ceil((window + 1) * JOIN_WINDOW_S - t))
    expires = int((window + 2) * JOIN_WINDOW_S)
    counted = []
    for what, scope, limit in (
        ("connection", conn["connectionId"], JOINS_PER_CONNECTION),
        ("address", conn.get("sourceIp") or "unknown", JOINS_PER_SOURCE),
    ):
        key = f"{what}#{scope}#{window}"
        count = attempts.update(key, add={"count": 1}, set={"expiresAt": expires})["count"]
        counted.append((key, expires))
        if count > limit:
            message = f"too many pairing attempts from this {what}: try again in {retry} s"
            raise Refused("rate-limited", message, retryAfter=retry)
    return counted


@action("join")
def join(body: dict, conn: dict) -> dict:
    if conn["role"] != "web":
        raise Refused("forbidden", "only a web viewer joins")
    key = public_key(body)
    if "pairingCode" in body:
        counted = join_attempt(conn)
        code = str(body["pairingCode"]).strip().upper()
        found = sessions.query(code, index="by_code").items if len(code) == CODE_LENGTH else []
        session = found[0] if found and found[0]["codeExpiresAt"] > now() else None
        if session is None or session.get("closed") or (AUTH and session.get("userId") != conn.get("userId")):
            raise Refused("invalid-pairing", "wrong or expired pairing code")
        attach(conn, session, publicKey=key)
        try:  # single use: only the first join removes it
            sessions.update(session["sessionId"], remove=["pairingCode"], if_match={"pairingCode": code})
        except ConditionFailed:
            _in_session.pop(conn["connectionId"], None)
            connections.update(conn["connectionId"], remove=["sessionId"])
            raise Refused("invalid-pairing", "wrong or expired pairing code") from None
        for counter, expires in counted:  # only failed guesses count: viewers behind one address pair freely
            attempts.update(counter, add={"count": -1}, set={"expiresAt": expires})
    else:
        session = session_of(body, conn)
        attach(conn, session, publicKey=key)
    deliver(others({**conn, "sessionId": session["sessionId"]}, "cli"), {"type": "peer-joined", "peerPublicKey": key})
    return {"type": "joined", "sessionId": session["sessionId"], "peerPublicKey": session["cliPublicKey"]}


@action("send")
def send(body: dict, conn: dict) -> None:
    session = joined_session(body, conn)
    seq, payload = field(body, "seq", int), field(body, "payload", str)
    if len(payload) > MAX_PAYLOAD:
        raise Refused("payload-too-large", f"payload is over {MAX_PAYLOAD} base64 characters")
    if len(payload) % 4 or not BASE64.fullmatch(payload):
        raise Refused("bad-request", "payload must be base64 (the ciphertext)")
    if not 0 <= seq < 2**53:
        raise Refused("bad-seq", "seq is an integer from 0 to 2**53 - 1")
    role = conn["role"]
    frame = {"type": "data", "from": role, "seq": seq, "payload": payload}
    position = f"{role}#{seq:016d}#{conn['connectionId'] if role == 'web' else ''}"
    item = {"sessionId": session["sessionId"], "position": position, **frame, "expiresAt": int(now() + DAY_S)}
    try:  # API Gateway runs frames concurrently: arrival order is not send order, but a seq is used once
        messages.put(item, if_absent=True)
    except ConditionFailed:
        raise Refused("bad-seq", f"seq {seq} was already sent: each sender's seq strictly increases") from None
    deliver(others(conn, "web" if role == "cli" else "cli"), frame)


@action("resume")
def resume(body: dict, conn: dict) -> None:
    session = session_of(body, conn)
    after = field(body, "after", int)
    if conn["role"] == "cli":
        conn = attach(conn, session)
        viewers = others(conn, "web")
        deliver(viewers, {"type": "peer-joined", "peerPublicKey": session["cliPublicKey"]})
        for viewer in viewers:  # and the CLI learns who is watching now
            deliver([conn], {"type": "peer-joined", "peerPublicKey": viewer["publicKey"]})
    elif conn.get("sessionId") != session["sessionId"]:
        raise Refused("not-in-session", "join the session (by sessionId) before resuming")
    peer = "web" if conn["role"] == "cli" else "cli"
    span = Sort.between(f"{peer}#{max(after + 1, 0):016d}", f"{peer}#{'9' * 16}~")
    for item in messages.iterate(session["sessionId"], sort=span):  # in seq order (zero-padded keys)
        relay.send(conn["connectionId"], {k: item[k] for k in ("type", "from", "seq", "payload")})


@action("resize")
def resize(body: dict, conn: dict) -> None:
    session = joined_session(body, conn)
    cols, rows = field(body, "cols", int), field(body, "rows", int)
    if not (1 <= cols <= 1000 and 1 <= rows <= 1000):
        raise Refused("bad-request", "cols and rows are integers from 1 to 1000")
    frame = {"type": "resize", "sessionId": session["sessionId"], "cols": cols, "rows": rows}
    deliver(others(conn), frame)


@action("close")
def close(body: dict, conn: dict) -> dict:
    session = joined_session(body, conn)
    sessions.update(session["sessionId"], set={"closed": True}, remove=["pairingCode"])
    deliver(others(conn), {"type": "closed", "sessionId": session["sessionId"]})
    return {"type": "closed", "sessionId": session["sessionId"]}


@relay.on_message
def unknown(msg: strato.websocket.WsMessage) -> dict:
    return {"type": "error", "code": "bad-request", "message": "actions: create, join, send, resume, resize, close"}


handler = app.lambda_handler
