"""Meetings: the local registry (Chime's shapes, limits and lifetimes), its signalling endpoint over a
real dev server, and the Chime SDK provider through botocore's Stubber (moto has no chime-sdk-meetings)."""

from __future__ import annotations

import json
import time

import pytest

import strato
from strato.core.errors import AccessDenied, NotFound, ValidationError
from tests.conftest import start_dev_server, stop


@pytest.fixture
def app(make_app):
    return make_app("local")


@pytest.fixture
def calls(app):
    return app.meetings("calls")


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_meetings_and_attendees_have_chime_shapes(calls):
    meeting = calls.create_meeting("standup-42")
    assert set(meeting) == {"MeetingId", "ExternalMeetingId", "MediaRegion", "MediaPlacement", "MeetingArn"}
    assert meeting["ExternalMeetingId"] == "standup-42" and meeting["MediaRegion"] == "us-east-1"
    assert meeting["MediaPlacement"]["SignalingUrl"].startswith("ws://")
    assert "/_strato/meetings/calls/signal" in meeting["MediaPlacement"]["SignalingUrl"]
    assert calls.get_meeting(meeting["MeetingId"]) == meeting
    ann = calls.create_attendee(meeting["MeetingId"], "user-ann")
    assert set(ann) == {"ExternalUserId", "AttendeeId", "JoinToken"} and len(ann["JoinToken"]) >= 40
    assert calls.create_attendee(meeting["MeetingId"], "user-ann") == ann  # same user, same attendee
    batch = calls.batch_create_attendees(meeting["MeetingId"], ["user-bob", "user-cy"])
    assert [a["ExternalUserId"] for a in batch["Attendees"]] == ["user-bob", "user-cy"] and batch["Errors"] == []
    listed = calls.list_attendees(meeting["MeetingId"])
    assert [a["ExternalUserId"] for a in listed] == ["user-ann", "user-bob", "user-cy"]
    assert all("JoinToken" not in a for a in listed)  # ListAttendees does not hand out tokens
    assert calls.get_attendee(meeting["MeetingId"], ann["AttendeeId"]) == ann
    calls.delete_attendee(meeting["MeetingId"], ann["AttendeeId"])
    with pytest.raises(NotFound):
        calls.get_attendee(meeting["MeetingId"], ann["AttendeeId"])
    calls.delete_meeting(meeting["MeetingId"])
    with pytest.raises(NotFound):
        calls.get_meeting(meeting["MeetingId"])
    with pytest.raises(NotFound):
        calls.create_attendee(meeting["MeetingId"], "user-late")


def test_a_retried_create_returns_the_same_meeting(calls):
    first = calls.create_meeting("retro", client_request_token="req-0001")
    assert calls.create_meeting("retro", client_request_token="req-0001") == first
    assert calls.create_meeting("retro", client_request_token="req-0002")["MeetingId"] != first["MeetingId"]


def test_chime_limits_are_checked_with_clear_errors(calls):
    for bad in ("x", "y" * 65, 42):
        with pytest.raises(ValidationError, match="2 to 64"):
            calls.create_meeting(bad)
    with pytest.raises(ValidationError, match="media region"):
        calls.create_meeting("ok-id", media_region="mars-1")
    with pytest.raises(ValidationError, match="MeetingId"):
        calls.get_meeting("../../etc/passwd")
    meeting = calls.create_meeting("big")
    with pytest.raises(ValidationError, match="1 to 100"):
        calls.batch_create_attendees(meeting["MeetingId"], [f"user-{i}" for i in range(101)])
    for start in (0, 100):
        calls.batch_create_attendees(meeting["MeetingId"], [f"user-{i}" for i in range(start, start + 100)])
    over = calls.batch_create_attendees(meeting["MeetingId"], [f"user-{i}" for i in range(200, 260)])
    assert len(over["Attendees"]) == 50 and len(over["Errors"]) == 10  # 250 attendees at most
    assert over["Errors"][0]["ErrorCode"] == "LimitExceeded"
    with pytest.raises(NotFound):
        calls.get_meeting("00000000-0000-4000-8000-000000000000")


def test_meetings_end_five_minutes_after_everyone_left_or_a_day_after_creation(calls):
    clock = Clock()
    backend = calls.backend
    backend.now = clock
    never_joined = calls.create_meeting("empty")
    clock.now += 299
    assert calls.get_meeting(never_joined["MeetingId"])
    clock.now += 2
    with pytest.raises(NotFound, match="ended"):
        calls.get_meeting(never_joined["MeetingId"])

    meeting = calls.create_meeting("busy")
    ann, bob = (calls.create_attendee(meeting["MeetingId"], u) for u in ("user-ann", "user-bob"))
    backend.set_connected(meeting["MeetingId"], ann["AttendeeId"], True)
    clock.now += 3600  # someone is in: it keeps going
    backend.set_connected(meeting["MeetingId"], bob["AttendeeId"], True)
    backend.set_connected(meeting["MeetingId"], ann["AttendeeId"], False)
    clock.now += 600  # bob is still there
    assert calls.get_meeting(meeting["MeetingId"])
    backend.set_connected(meeting["MeetingId"], bob["AttendeeId"], False)
    clock.now += 290
    assert calls.get_meeting(meeting["MeetingId"])
    clock.now += 11
    with pytest.raises(NotFound):
        calls.get_meeting(meeting["MeetingId"])
    with pytest.raises(NotFound):  # and its join tokens with it
        backend.admit(meeting["MeetingId"], ann["JoinToken"])

    long = calls.create_meeting("all-day")
    carol = calls.create_attendee(long["MeetingId"], "user-carol")
    backend.set_connected(long["MeetingId"], carol["AttendeeId"], True)
    clock.now += 24 * 3600
    with pytest.raises(NotFound):
        calls.get_meeting(long["MeetingId"])


def test_join_tokens_admit_only_their_attendee_in_their_meeting(calls):
    one, two = calls.create_meeting("one"), calls.create_meeting("two")
    ann = calls.create_attendee(one["MeetingId"], "user-ann")
    assert calls.backend.admit(one["MeetingId"], ann["JoinToken"])["AttendeeId"] == ann["AttendeeId"]
    real = ann["JoinToken"]
    tampered = real[:-1] + ("y" if real.endswith("x") else "x")  # always a different token
    for meeting_id, token in ((two["MeetingId"], real), (one["MeetingId"], tampered), (one["MeetingId"], "")):
        with pytest.raises(NotFound):
            calls.backend.admit(meeting_id, token)


def test_meetings_allow_is_enforced(app):
    watcher = app.meetings("watch", allow=())
    with pytest.raises(AccessDenied):
        watcher.create_meeting("nope")


# -- signalling over a real dev server ----------------------------------------------------------------

MEETING_APP = """
import strato
app = strato.App("callapp")
calls = app.meetings("calls")
api = app.http()

@api.post("/meetings")
def create(req):
    return 201, calls.create_meeting(req.json()["name"])

@api.post("/meetings/{meeting_id}/attendees")
def join(req, meeting_id):
    return 201, calls.join_info(meeting_id, req.json()["user"])

@api.delete("/meetings/{meeting_id}/attendees/{attendee_id}")
def kick(req, meeting_id, attendee_id):
    calls.delete_attendee(meeting_id, attendee_id)
"""


@pytest.fixture
def meeting_server(tmp_path):
    spec = tmp_path / "meeting_app.py"
    spec.write_text(MEETING_APP)
    server = start_dev_server(str(spec), tmp_path / "data")
    yield server
    stop(server.proc)


def _join(base: str, meeting_id: str, user: str) -> dict:
    import httpx

    response = httpx.post(f"{base}/meetings/{meeting_id}/attendees", json={"user": user})
    assert response.status_code == 201, response.text
    return response.json()


def test_signalling_relays_offers_answers_and_candidates_between_attendees(meeting_server):
    import httpx
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    base = meeting_server.url
    meeting = httpx.post(f"{base}/meetings", json={"name": "pairing"}).json()
    ann, bob = _join(base, meeting["MeetingId"], "user-ann"), _join(base, meeting["MeetingId"], "user-bob")
    signal = ann["Meeting"]["MediaPlacement"]["SignalingUrl"]
    assert signal.startswith(base.replace("http", "ws"))

    def url(info: dict) -> str:
        return f"{signal}&token={info['Attendee']['JoinToken']}"

    with pytest.raises(InvalidStatus) as refused:
        connect(f"{signal}&token=forged")
    assert refused.value.response.status_code == 403
    with connect(url(ann)) as a:
        welcome = json.loads(a.recv(timeout=5))
        assert welcome["type"] == "welcome" and welcome["peers"] == []
        assert welcome["attendee"]["AttendeeId"] == ann["Attendee"]["AttendeeId"]
        with connect(url(bob)) as b:
            assert [p["ExternalUserId"] for p in json.loads(b.recv(timeout=5))["peers"]] == ["user-ann"]
            joined = json.loads(a.recv(timeout=5))
            assert joined == {
                "type": "joined",
                "attendee": {"ExternalUserId": "user-bob", "AttendeeId": bob["Attendee"]["AttendeeId"]},
            }
            offer = {
                "type": "offer",
                "to": ann["Attendee"]["AttendeeId"],
                "sdp": "v=0 fake",
                "from": ann["Attendee"]["AttendeeId"],
            }  # a spoofed sender is overwritten
            b.send(json.dumps(offer))
            got = json.loads(a.recv(timeout=5))
            assert got["sdp"] == "v=0 fake" and got["from"] == bob["Attendee"]["AttendeeId"]
            a.send(json.dumps({"type": "answer", "to": bob["Attendee"]["AttendeeId"], "sdp": "v=0 answer"}))
            assert json.loads(b.recv(timeout=5))["type"] == "answer"
            a.send(json.dumps({"type": "candidate", "candidate": {"candidate": "candidate:1 1 udp ..."}}))
            assert json.loads(b.recv(timeout=5))["candidate"]["candidate"].startswith("candidate:1")
            for bad in ("not json", json.dumps([1, 2]), json.dumps({"type": "offer", "to": "someone-else"})):
                b.send(bad)
                assert json.loads(b.recv(timeout=5))["type"] == "error"
            b.send(json.dumps({"type": "ping", "to": ann["Attendee"]["AttendeeId"]}))  # still relaying
            assert json.loads(a.recv(timeout=5))["type"] == "ping"
        assert json.loads(a.recv(timeout=5)) == {"type": "left", "attendeeId": bob["Attendee"]["AttendeeId"]}
        kicked = httpx.delete(f"{base}/meetings/{meeting['MeetingId']}/attendees/{ann['Attendee']['AttendeeId']}")
        assert kicked.status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            a.recv(timeout=5)
        assert closed.value.rcvd.code == 4403
    with pytest.raises(InvalidStatus):
        connect(url(ann))  # the deleted attendee's token no longer admits


def test_joining_again_replaces_the_earlier_connection(meeting_server):
    import httpx
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    base = meeting_server.url
    meeting = httpx.post(f"{base}/meetings", json={"name": "tabs"}).json()
    ann = _join(base, meeting["MeetingId"], "user-ann")
    url = f"{ann['Meeting']['MediaPlacement']['SignalingUrl']}&token={ann['Attendee']['JoinToken']}"
    with connect(url) as first:
        first.recv(timeout=5)
        with connect(url) as second:
            assert json.loads(second.recv(timeout=5))["type"] == "welcome"
            with pytest.raises(ConnectionClosed) as closed:
                first.recv(timeout=5)
            assert closed.value.rcvd.code == 4409


# -- the Chime SDK provider ---------------------------------------------------------------------------

MEETING_ID = "7f2d1c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
ATTENDEE_ID = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.fixture
def chime(tmp_path):
    from botocore.stub import Stubber

    app = strato.App("callcloud", provider="aws", data_dir=tmp_path)
    calls = app.meetings("calls", media_region="eu-west-1")
    client = calls.backend.client
    with Stubber(client) as stubber:
        yield calls, stubber
        stubber.assert_no_pending_responses()
    app.close()


def _meeting() -> dict:
    return {
        "MeetingId": MEETING_ID,
        "ExternalMeetingId": "standup-42",
        "MediaRegion": "eu-west-1",
        "MediaPlacement": {
            "AudioHostUrl": "h.k.m3.ew1.app.chime.aws:3478",
            "SignalingUrl": "wss://signal.m3.ew1.app.chime.aws/control/" + MEETING_ID,
        },
    }


def test_chime_calls_carry_the_api_parameters_and_return_its_objects(chime):
    calls, stubber = chime
    stubber.add_response(
        "create_meeting",
        {"Meeting": _meeting()},
        {"ClientRequestToken": "req-0001", "MediaRegion": "eu-west-1", "ExternalMeetingId": "standup-42"},
    )
    stubber.add_response("get_meeting", {"Meeting": _meeting()}, {"MeetingId": MEETING_ID})
    attendee = {"ExternalUserId": "user-ann", "AttendeeId": ATTENDEE_ID, "JoinToken": "token-" + "x" * 40}
    stubber.add_response(
        "create_attendee", {"Attendee": attendee}, {"MeetingId": MEETING_ID, "ExternalUserId": "user-ann"}
    )
    stubber.add_response(
        "batch_create_attendee",
        {
            "Attendees": [attendee],
            "Errors": [{"ExternalUserId": "user-bob", "ErrorCode": "LimitExceeded", "ErrorMessage": "too many"}],
        },
        {"MeetingId": MEETING_ID, "Attendees": [{"ExternalUserId": "user-ann"}, {"ExternalUserId": "user-bob"}]},
    )
    stubber.add_response(
        "list_attendees", {"Attendees": [attendee], "NextToken": "page2"}, {"MeetingId": MEETING_ID, "MaxResults": 100}
    )
    stubber.add_response(
        "list_attendees",
        {"Attendees": [{**attendee, "ExternalUserId": "user-cy"}]},
        {"MeetingId": MEETING_ID, "MaxResults": 100, "NextToken": "page2"},
    )
    stubber.add_response("delete_attendee", {}, {"MeetingId": MEETING_ID, "AttendeeId": ATTENDEE_ID})
    stubber.add_response("delete_meeting", {}, {"MeetingId": MEETING_ID})
    assert calls.create_meeting("standup-42", client_request_token="req-0001")["MeetingId"] == MEETING_ID
    assert calls.get_meeting(MEETING_ID)["MediaPlacement"]["SignalingUrl"].startswith("wss://")
    assert calls.create_attendee(MEETING_ID, "user-ann") == attendee
    batch = calls.batch_create_attendees(MEETING_ID, ["user-ann", "user-bob"])
    assert batch["Attendees"] == [attendee] and batch["Errors"][0]["ErrorCode"] == "LimitExceeded"
    assert [a["ExternalUserId"] for a in calls.list_attendees(MEETING_ID)] == ["user-ann", "user-cy"]
    calls.delete_attendee(MEETING_ID, ATTENDEE_ID)
    calls.delete_meeting(MEETING_ID)


def test_chime_errors_become_the_same_typed_errors_as_locally(chime):
    calls, stubber = chime
    stubber.add_client_error("get_meeting", "NotFoundException", "The meeting is not found", 404)
    stubber.add_client_error("create_attendee", "ForbiddenException", "The meeting has ended", 403)
    stubber.add_client_error("create_meeting", "BadRequestException", "Invalid ExternalMeetingId", 400)
    with pytest.raises(NotFound, match="not found"):
        calls.get_meeting(MEETING_ID)
    with pytest.raises(NotFound, match="ended"):
        calls.create_attendee(MEETING_ID, "user-ann")
    with pytest.raises(ValidationError, match="Invalid"):
        calls.create_meeting("standup-42")
