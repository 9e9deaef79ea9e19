"""chat: rooms, direct messages and calls on strato (user pool, WebSocket API, tables, meetings, site).

Run it:  strato dev examples/chat/app.py   then open http://127.0.0.1:8000/
The contract (auth endpoints, WebSocket actions, history, conversations, calls) is in README.md.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import strato
from strato import AuthError, HTTPError, Sort

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chat_calls  # noqa: F401  (registers the call routes)
import chat_live  # noqa: F401  (registers the WebSocket handlers)
from chat_model import api, app, is_direct, members, message_frame, messages, profile, profiles, users

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,63}")
# Cognito's exception names -> statuses: a bad request, wrong credentials, a clash, too many tries
STATUS = {
    "UsernameExistsException": 409,
    "NotAuthorizedException": 401,
    "UserNotConfirmedException": 403,
    "LimitExceededException": 429,
    "TooManyRequestsException": 429,
    "TooManyFailedAttemptsException": 429,
}
UNREAD_CAP = 999


def fields(req: strato.Request, *names: str) -> list[str]:
    body = req.json()
    if not isinstance(body, dict):
        raise HTTPError(400, "send a JSON object")
    values = []
    for name in names:
        value = body.get(name)
        if not isinstance(value, str) or not value or len(value) > 256:
            raise HTTPError(400, f"{name}: a non-empty string")
        values.append(value)
    return values


def email_of(value: str) -> str:
    email = value.strip().lower()
    if not EMAIL.fullmatch(email):
        raise HTTPError(400, "email: not an email address")
    return email


def pool_call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except AuthError as err:
        raise HTTPError(STATUS.get(err.code, 400), err.message, {"x-error-code": err.code}) from None


# -- auth ----------------------------------------------------------------------------------------------
@api.post("/auth/signup")
def signup(req: strato.Request) -> tuple[int, dict]:
    email, password, name = fields(req, "email", "password", "name")
    email = email_of(email)
    if len(name.strip()) > 64 or not name.strip():
        raise HTTPError(400, "name: 1 to 64 characters")
    pool_call(users.sign_up, email, password, {"email": email, "name": name.strip()})
    return 201, {"email": email, "confirmed": False, "delivery": "EMAIL"}


@api.post("/auth/confirm")
def confirm(req: strato.Request) -> dict:
    email, code = fields(req, "email", "code")
    pool_call(users.confirm_sign_up, email_of(email), code.strip())
    return {"email": email_of(email), "confirmed": True}


@api.post("/auth/login")
def login(req: strato.Request) -> dict:
    email, password = fields(req, "email", "password")
    tokens = pool_call(users.sign_in, email_of(email), password)
    if not hasattr(tokens, "id_token"):  # a challenge: this pool has no MFA, so only a forced new password
        raise HTTPError(403, f"sign-in needs {tokens.name}", {"x-error-code": tokens.name})
    claims = users.verify(tokens.id_token)
    profiles.put({"userId": claims["sub"], "email": claims.get("email", email), "name": claims.get("name", email)})
    return {
        "idToken": tokens.id_token,
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "expiresIn": tokens.expires_in,
        "userId": claims["sub"],
    }


@api.get("/api/me", auth=True)
def me(req: strato.Request) -> dict:
    return profile(req.claims["sub"])


@api.get("/api/users", auth=True)
def find_user(req: strato.Request) -> dict:
    """Look a user up by email (to start a direct conversation)."""
    email = email_of(req.query.get("email", ""))
    found = profiles.query(email, index="by_email", limit=1).items
    if not found:
        raise HTTPError(404, "no user with this email")
    return profile(found[0]["userId"])


# -- history and conversations ----------------------------------------------------------------------------
@api.get("/api/rooms/{room}/messages", auth=True)
def history(req: strato.Request) -> dict:
    user, room = req.claims["sub"], req.params["room"]
    if len(room) > 300 or members.get((room, user)) is None:
        raise HTTPError(403, "only members read a room's messages")
    raw_limit, before = req.query.get("limit", "50"), req.query.get("before")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise HTTPError(400, "limit: 1 to 100")
    if before is not None and not 0 < len(before) <= 64:
        raise HTTPError(400, "before: a message id")
    page = messages.query(room, sort=Sort.lt(before) if before else None, newest_first=True, limit=int(raw_limit))
    items = [message_frame(m) for m in page.items]
    more = page.cursor is not None and bool(items)
    return {"messages": items, "before": items[-1]["id"] if more else None}


@api.get("/api/conversations", auth=True)
def conversations(req: strato.Request) -> dict:
    user = req.claims["sub"]
    found = []
    for row in members.iterate(user, index="by_user", page_size=200):
        room = row["room"]
        after = Sort.gt(row["lastRead"]) if row.get("lastRead") else None
        unread = 0
        for item in messages.iterate(room, sort=after, page_size=200):
            unread += item["from"] != user
            if unread >= UNREAD_CAP:
                break
        last = messages.query(room, newest_first=True, limit=1).items
        entry: dict[str, Any] = {"kind": "direct" if is_direct(room) else "room", "unread": unread}
        entry.update({"conversation": room, "with": profile(row["peer"])} if is_direct(room) else {"room": room})
        entry.update(lastRead=row.get("lastRead") or None, last=message_frame(last[0]) if last else None)
        found.append(entry)
    found.sort(key=lambda e: (e["last"] or {}).get("id", ""), reverse=True)
    return {"conversations": found}


handler = app.lambda_handler
