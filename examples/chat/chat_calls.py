"""Calls: a Chime SDK meeting per call (strato's WebRTC signalling under `strato dev`), invitations
and the end of a call over the chat's WebSocket API."""

from __future__ import annotations

from typing import Any

from chat_model import DAY_S, Refused, api, calls, deliver, meetings, members, now, place, where

import strato
from strato import HTTPError, NotFound


def member(req: strato.Request) -> tuple[str, dict]:
    """The caller and the call they may see (a member of its room or conversation), or 404."""
    user = req.claims["sub"]
    call = calls.get(req.params["id"]) if len(req.params["id"]) <= 64 else None
    if call is None or members.get((call["room"], user)) is None:
        raise HTTPError(404, "no such call")
    if call.get("ended"):
        raise HTTPError(410, "this call has ended")
    return user, call


def attendee_of(call: dict, user: str) -> dict[str, Any]:
    try:
        info = meetings.join_info(call["meetingId"], user)
    except NotFound:  # Chime ended it (nobody joined for 5 minutes, or 24 hours old)
        calls.update(call["callId"], set={"ended": True})
        raise HTTPError(410, "this call has ended") from None
    return {"meeting": info["Meeting"], "attendee": info["Attendee"]}


@api.post("/api/calls", auth=True)
def start(req: strato.Request) -> tuple[int, dict]:
    user = req.claims["sub"]
    body = req.json()
    if not isinstance(body, dict) or ("room" in body) == ("to" in body):
        raise HTTPError(400, 'send {"room": name} or {"to": userId}')
    try:
        room = place(body, user, create=True)
    except Refused as refused:
        raise HTTPError(refused.status, refused.message) from None
    call_id = strato.new_id()
    meeting = meetings.create_meeting(call_id, client_request_token=call_id)
    t = now()
    call = {"callId": call_id, "room": room, "meetingId": meeting["MeetingId"], "from": user, "startedAt": t}
    calls.put({**call, "expiresAt": int(t + DAY_S)})
    joined = attendee_of(call, user)
    deliver(room, {"type": "call-invite", "callId": call_id, **where(room), "from": user}, skip_user=user)
    return 201, {"callId": call_id, **where(room), **joined}


@api.post("/api/calls/{id}/join", auth=True)
def join(req: strato.Request) -> dict:
    user, call = member(req)
    joined = attendee_of(call, user)
    deliver(call["room"], {"type": "call-joined", "callId": call["callId"], **where(call["room"]), "user": user})
    return joined


@api.post("/api/calls/{id}/decline", auth=True)
def decline(req: strato.Request) -> dict:
    user, call = member(req)
    frame = {"type": "call-declined", "callId": call["callId"], **where(call["room"]), "user": user}
    deliver(call["room"], frame)
    return {"callId": call["callId"], "declined": True}


@api.delete("/api/calls/{id}", auth=True)
def end(req: strato.Request) -> dict:
    user, call = member(req)
    calls.update(call["callId"], set={"ended": True, "endedBy": user})
    try:
        meetings.delete_meeting(call["meetingId"])
    except NotFound:  # already ended by Chime
        pass
    deliver(call["room"], {"type": "call-ended", "callId": call["callId"], **where(call["room"]), "by": user})
    return {"callId": call["callId"], "ended": True}
