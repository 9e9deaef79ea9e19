"""Local WebRTC signalling for meetings: ``ws://127.0.0.1:PORT/_strato/meetings/<name>/signal``.

Chime's media service is not something a laptop can run, so locally the browsers connect to each
other directly (WebRTC) and this endpoint carries what they must exchange first. A client connects
with ``?meeting=<MeetingId>&token=<JoinToken>`` (the meeting's ``MediaPlacement.SignalingUrl`` plus
the attendee's token); a bad token or an ended meeting is refused with 403 before the upgrade.

Frames are JSON objects. The server sends ``{"type": "welcome", "attendee": {...}, "peers": [...]}``
on joining, then ``joined`` / ``left`` as others come and go. Anything a client sends with a
``type`` is relayed — to the attendee named in ``to``, or to every other attendee — with ``from``
set by the server (a client cannot speak for another). Offers, answers and ICE candidates are
just such messages. A deleted attendee or an ended meeting closes the socket with 4403;
joining again from another tab closes the earlier socket with 4409. The meeting stays alive while
anyone is connected and ends five minutes after the last one left, as on Chime.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("strato.meetings")
WATCH_SECONDS = 1.0  # how often connected attendees are checked against deletions and meeting ends


def signalling_url(data_dir: Path, name: str) -> str:
    from ..runtime.devurl import dev_url

    base = dev_url(data_dir)
    return ("wss" + base[5:] if base.startswith("https") else "ws" + base[4:]) + f"/_strato/meetings/{name}/signal"


class Peer:
    def __init__(self, websocket: Any, attendee: dict[str, Any], meetings: Any, meeting_id: str) -> None:
        self.websocket = websocket
        self.attendee = attendee
        self.id: str = attendee["AttendeeId"]
        self.meetings = meetings
        self.meeting_id = meeting_id

    async def send(self, message: dict[str, Any]) -> bool:
        try:
            await self.websocket.send_text(json.dumps(message))
            return True
        except Exception:  # the peer went away mid-send; its own loop cleans up
            return False


class SignallingHub:
    """The rooms of every meetings resource of an app: meeting id -> attendee id -> connected peer."""

    def __init__(self, resources: list[Any]) -> None:
        self.resources = {m.name: m for m in resources}
        self.rooms: dict[str, dict[str, Peer]] = {}
        self._watch: asyncio.Task | None = None

    async def endpoint(self, websocket: Any) -> None:
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        from ..core.errors import NotFound, NotSupported, ValidationError

        meetings = self.resources.get(websocket.path_params["name"])
        meeting_id = websocket.query_params.get("meeting", "")
        token = websocket.query_params.get("token", "")
        try:
            if meetings is None:
                raise NotFound(f"no meetings resource named {websocket.path_params['name']!r}")
            attendee = await run_in_threadpool(meetings.admit, meeting_id, token)
        except NotSupported as exc:  # a meetings resource on Chime: its clients signal through Chime
            await websocket.send_denial_response(JSONResponse({"message": str(exc)}, 501))
            return
        except (NotFound, ValidationError) as exc:
            await websocket.send_denial_response(JSONResponse({"message": str(exc)}, 403))
            return
        await websocket.accept()
        peer = Peer(websocket, attendee, meetings, meeting_id)
        room = self.rooms.setdefault(meeting_id, {})
        earlier = room.get(peer.id)
        room[peer.id] = peer
        # who was here before this peer, taken before any await: two peers joining together must not both
        # see the other (both would make the offer, and glare leaves the call unconnected)
        before = [p.attendee for p in room.values() if p is not peer]
        if earlier is not None:
            with contextlib.suppress(Exception):
                await earlier.websocket.close(4409, "joined again from another connection")
        await run_in_threadpool(meetings.set_connected, meeting_id, peer.id, True)
        self._start_watch()
        await peer.send({"type": "welcome", "attendee": attendee, "peers": before})
        await self._to_others(room, peer, {"type": "joined", "attendee": attendee})
        try:
            await self._relay(room, peer)
        finally:
            if room.get(peer.id) is peer:
                del room[peer.id]
                await self._to_others(room, peer, {"type": "left", "attendeeId": peer.id})
                await run_in_threadpool(meetings.set_connected, meeting_id, peer.id, False)
            if not room:
                self.rooms.pop(meeting_id, None)

    async def _relay(self, room: dict[str, Peer], peer: Peer) -> None:
        from starlette.websockets import WebSocketDisconnect

        while True:
            try:
                frame = await peer.websocket.receive()
            except WebSocketDisconnect:
                return
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            try:
                message = json.loads(text) if text is not None else None
            except ValueError:
                message = None
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                await peer.send({"type": "error", "message": 'send JSON objects with a string "type"'})
                continue
            message["from"] = peer.id
            target = message.get("to")
            if target is None:
                await self._to_others(room, peer, message)
            elif isinstance(target, str) and target in room and target != peer.id:
                await room[target].send(message)
            else:
                await peer.send({"type": "error", "message": f"attendee {target!r} is not connected to this meeting"})

    @staticmethod
    async def _to_others(room: dict[str, Peer], peer: Peer, message: dict[str, Any]) -> None:
        await asyncio.gather(*(p.send(message) for p in list(room.values()) if p is not peer))

    def _start_watch(self) -> None:
        if self._watch is None or self._watch.done():
            self._watch = asyncio.get_running_loop().create_task(self._watch_loop())

    async def _watch_loop(self) -> None:
        """Drop the sockets of attendees that were deleted and of meetings that ended elsewhere."""
        from starlette.concurrency import run_in_threadpool

        while self.rooms:
            await asyncio.sleep(WATCH_SECONDS)
            for peer in [p for room in list(self.rooms.values()) for p in list(room.values())]:
                if not await run_in_threadpool(peer.meetings.still_admitted, peer.meeting_id, peer.id):
                    with contextlib.suppress(Exception):
                        await peer.websocket.close(4403, "attendee deleted or meeting ended")

    async def stop(self) -> None:
        for room in list(self.rooms.values()):
            for peer in list(room.values()):
                with contextlib.suppress(Exception):
                    await peer.websocket.close(1001, "server shutting down")
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
