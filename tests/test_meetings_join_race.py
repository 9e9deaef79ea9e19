"""Two attendees joining a local meeting at the same moment: exactly one of them is told the other is
there (and so makes the WebRTC offer). Both being told is offer glare: each side's offer meets the other's
and the call never connects (the chat example's browser test caught it under load)."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from starlette.testclient import TestClient

import strato
from strato.local.server import build_asgi


def test_attendees_joining_together_get_one_offerer(tmp_path, monkeypatch):
    app = strato.App("race", data_dir=tmp_path)
    calls = app.meetings("calls")
    meeting = calls.create_meeting("race-1")
    attendees = [calls.create_attendee(meeting["MeetingId"], user) for user in ("user-ann", "user-bob")]
    real = calls.set_connected
    both_in = threading.Barrier(2)

    def slow_presence(*args):  # the endpoint yields here (a thread-pool call) after admitting each peer
        time.sleep(0.3)
        real(*args)

    monkeypatch.setattr(calls, "set_connected", slow_presence)
    path = urlsplit(meeting["MediaPlacement"]["SignalingUrl"]).path
    welcomes: dict[str, dict] = {}
    errors: list[BaseException] = []

    with TestClient(build_asgi(app)) as dev:

        def join(attendee: dict) -> None:
            try:
                url = f"{path}?meeting={meeting['MeetingId']}&token={attendee['JoinToken']}"
                with dev.websocket_connect(url) as ws:
                    welcomes[attendee["AttendeeId"]] = ws.receive_json()
                    both_in.wait(10)  # stay until both were welcomed
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        threads = [threading.Thread(target=join, args=(a,)) for a in attendees]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    assert not errors, errors
    assert {w["type"] for w in welcomes.values()} == {"welcome"}
    assert sorted(len(w["peers"]) for w in welcomes.values()) == [0, 1]  # one offerer, one answerer
