"""The meetings contract, run unchanged against the local registry and the Chime SDK Meetings provider.

moto has no chime-sdk-meetings, so the aws case is driven by botocore's Stubber on the boto3 client
the provider uses: ``chime.answers(...)`` queues what Chime SDK Meetings returns for a call, with the
parameters the provider must send (the shapes are those of tests/test_meetings.py, taken from the
AWS documentation, and the Stubber checks every response against botocore's service model). Locally
the registry answers for itself and the queued answers are ignored. A call the test did not expect
fails the aws case (the Stubber refuses it), so "refused before any call" is checked there too.
"""

from __future__ import annotations

import uuid

import pytest

import strato
from strato.core.errors import NotFound, ValidationError
from strato.meetings import CAPABILITIES
from tests.conformance.absence import assert_absent, double_cases, lacking
from tests.conftest import start_dev_server, stop
from tests.test_meetings import ATTENDEE_ID, MEETING_ID, _meeting

OTHER_MEETING_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
REGION = "eu-west-1"  # _meeting()'s media region


class Chime:
    """The meetings resource under test and, in the aws case, the Stubber answering for Chime."""

    def __init__(self, meetings, stubber=None) -> None:
        self.meetings = meetings
        self.stubber = stubber

    def answers(self, operation: str, response: dict, params: dict) -> None:
        if self.stubber is not None:
            self.stubber.add_response(operation, response, params)

    def refuses(self, operation: str, code: str, message: str, status: int) -> None:
        if self.stubber is not None:
            self.stubber.add_client_error(operation, code, message, status)

    def creates_meeting(self, token: str | None = "req-0001", meeting_id: str = MEETING_ID) -> dict:
        params = {"MediaRegion": REGION, "ExternalMeetingId": "standup-42"}
        if token is not None:
            params["ClientRequestToken"] = token
        self.answers("create_meeting", {"Meeting": {**_meeting(), "MeetingId": meeting_id}}, params)
        return self.meetings.create_meeting("standup-42", client_request_token=token)


@pytest.fixture(params=["local", "aws"])
def provider(request):
    return request.param


@pytest.fixture
def chime(provider, make_app, tmp_path):
    if provider == "local":
        yield Chime(make_app("local").meetings("calls", media_region=REGION))
        return
    from botocore.stub import Stubber

    app = strato.App("callcloud", provider="aws", data_dir=tmp_path)
    calls = app.meetings("calls", media_region=REGION)
    with Stubber(calls.backend.client) as stubber:
        yield Chime(calls, stubber)
        stubber.assert_no_pending_responses()
    app.close()


def attendee(external_user_id: str, n: int) -> dict:
    """A CreateAttendee / BatchCreateAttendee ``Attendee`` (the shape of tests/test_meetings.py)."""
    return {"ExternalUserId": external_user_id, "AttendeeId": str(uuid.UUID(int=n)), "JoinToken": f"token-{n:040d}"}


# -- meetings -----------------------------------------------------------------------------------------
def test_create_get_and_delete_a_meeting(chime):
    calls = chime.meetings
    meeting = chime.creates_meeting()
    assert {"MeetingId", "ExternalMeetingId", "MediaRegion", "MediaPlacement"} <= set(meeting)
    assert (meeting["ExternalMeetingId"], meeting["MediaRegion"]) == ("standup-42", REGION)
    assert meeting["MediaPlacement"]["SignalingUrl"].startswith(("ws://", "wss://"))
    chime.answers("get_meeting", {"Meeting": _meeting()}, {"MeetingId": MEETING_ID})
    assert calls.get_meeting(meeting["MeetingId"]) == meeting
    chime.answers("delete_meeting", {}, {"MeetingId": MEETING_ID})
    calls.delete_meeting(meeting["MeetingId"])
    chime.refuses("get_meeting", "NotFoundException", "The meeting is not found", 404)
    with pytest.raises(NotFound):
        calls.get_meeting(meeting["MeetingId"])
    chime.refuses("delete_meeting", "NotFoundException", "The meeting is not found", 404)
    with pytest.raises(NotFound):
        calls.delete_meeting(meeting["MeetingId"])


def test_the_same_client_request_token_returns_the_same_meeting(chime):
    first = chime.creates_meeting("req-0001")
    assert chime.creates_meeting("req-0001") == first  # a retried request opens no second meeting
    other = chime.creates_meeting("req-0002", OTHER_MEETING_ID)
    assert other["MeetingId"] != first["MeetingId"]


def test_an_unknown_meeting_is_not_found(chime):
    chime.refuses("get_meeting", "NotFoundException", "The meeting is not found", 404)
    with pytest.raises(NotFound):
        chime.meetings.get_meeting(OTHER_MEETING_ID)


# -- attendees ----------------------------------------------------------------------------------------
def test_create_batch_get_list_and_delete_attendees(chime):
    calls = chime.meetings
    meeting_id = chime.creates_meeting()["MeetingId"]
    ask = {"MeetingId": MEETING_ID, "ExternalUserId": "user-ann"}
    chime.answers("create_attendee", {"Attendee": attendee("user-ann", 1)}, ask)
    ann = calls.create_attendee(meeting_id, "user-ann")
    assert {"ExternalUserId", "AttendeeId", "JoinToken"} <= set(ann) and ann["ExternalUserId"] == "user-ann"
    chime.answers("create_attendee", {"Attendee": ann}, ask)
    assert calls.create_attendee(meeting_id, "user-ann")["AttendeeId"] == ann["AttendeeId"]  # same user, same one

    pair = [attendee("user-bob", 2), attendee("user-cy", 3)]
    wanted = [{"ExternalUserId": "user-bob"}, {"ExternalUserId": "user-cy"}]
    chime.answers(
        "batch_create_attendee", {"Attendees": pair, "Errors": []}, {"MeetingId": MEETING_ID, "Attendees": wanted}
    )
    batch = calls.batch_create_attendees(meeting_id, ["user-bob", "user-cy"])
    assert [a["ExternalUserId"] for a in batch["Attendees"]] == ["user-bob", "user-cy"] and batch["Errors"] == []
    bob, cy = batch["Attendees"]

    chime.answers("get_attendee", {"Attendee": ann}, {"MeetingId": MEETING_ID, "AttendeeId": ann["AttendeeId"]})
    assert calls.get_attendee(meeting_id, ann["AttendeeId"]) == ann
    page = {"MeetingId": MEETING_ID, "MaxResults": 100}
    chime.answers("list_attendees", {"Attendees": [ann, bob], "NextToken": "page2"}, page)
    chime.answers("list_attendees", {"Attendees": [cy]}, {**page, "NextToken": "page2"})
    listed = calls.list_attendees(meeting_id)
    assert [(a["ExternalUserId"], a["AttendeeId"]) for a in listed] == [
        (a["ExternalUserId"], a["AttendeeId"]) for a in (ann, bob, cy)
    ]
    assert all("JoinToken" not in a for a in listed)  # a listing hands out no join tokens

    chime.answers("delete_attendee", {}, {"MeetingId": MEETING_ID, "AttendeeId": ann["AttendeeId"]})
    calls.delete_attendee(meeting_id, ann["AttendeeId"])
    chime.refuses("get_attendee", "NotFoundException", "The attendee is not found", 404)
    with pytest.raises(NotFound):
        calls.get_attendee(meeting_id, ann["AttendeeId"])
    chime.refuses("delete_attendee", "NotFoundException", "The attendee is not found", 404)
    with pytest.raises(NotFound):
        calls.delete_attendee(meeting_id, ann["AttendeeId"])


def test_attendees_of_a_deleted_meeting_are_not_found(chime):
    calls = chime.meetings
    meeting_id = chime.creates_meeting()["MeetingId"]
    chime.answers("delete_meeting", {}, {"MeetingId": MEETING_ID})
    calls.delete_meeting(meeting_id)
    chime.refuses("create_attendee", "ForbiddenException", "The meeting has ended", 403)
    with pytest.raises(NotFound):
        calls.create_attendee(meeting_id, "user-late")
    chime.refuses("batch_create_attendee", "NotFoundException", "The meeting is not found", 404)
    with pytest.raises(NotFound):
        calls.batch_create_attendees(meeting_id, ["user-late"])
    chime.refuses("list_attendees", "NotFoundException", "The meeting is not found", 404)
    with pytest.raises(NotFound):
        calls.list_attendees(meeting_id)


# -- limits (checked before any call: the Stubber would refuse an unexpected one) ----------------------
@pytest.mark.parametrize("bad", ["x", "y" * 65, 42])
def test_names_are_2_to_64_characters(chime, bad):
    calls = chime.meetings
    with pytest.raises(ValidationError, match="2 to 64"):
        calls.create_meeting(bad)
    with pytest.raises(ValidationError, match="2 to 64"):
        calls.create_meeting("standup-42", client_request_token=bad)
    with pytest.raises(ValidationError, match="2 to 64"):
        calls.create_attendee(MEETING_ID, bad)
    with pytest.raises(ValidationError, match="2 to 64"):
        calls.batch_create_attendees(MEETING_ID, ["user-ann", bad])


def test_media_regions_and_ids_are_checked(chime, make_app):
    calls = chime.meetings
    with pytest.raises(ValidationError, match="media region"):
        calls.create_meeting("standup-42", media_region="mars-1")
    with pytest.raises(ValidationError, match="media region"):
        make_app("local").meetings("elsewhere", media_region="mars-1")
    with pytest.raises(ValidationError, match="MeetingId"):
        calls.get_meeting("../../etc/passwd")
    with pytest.raises(ValidationError, match="MeetingId"):
        calls.get_attendee(MEETING_ID, "not-an-attendee-id")


@pytest.mark.parametrize("count", [0, 101])
def test_a_batch_holds_1_to_100_attendees(chime, count):
    with pytest.raises(ValidationError, match="1 to 100"):
        chime.meetings.batch_create_attendees(MEETING_ID, [f"user-{i}" for i in range(count)])


def test_a_full_meeting_reports_per_attendee_errors(chime):
    """250 attendees at most: a batch past that creates what fits and reports the rest, one error each."""
    calls = chime.meetings
    meeting_id = chime.creates_meeting()["MeetingId"]
    for start, size in ((0, 100), (100, 100), (200, 60)):
        users = [f"user-{i}" for i in range(start, start + size)]
        fits = [u for u in users if int(u[5:]) < 250]
        errors = [
            {"ExternalUserId": u, "ErrorCode": "LimitExceeded", "ErrorMessage": "The meeting has 250 attendees"}
            for u in users[len(fits) :]
        ]
        chime.answers(
            "batch_create_attendee",
            {"Attendees": [attendee(u, int(u[5:]) + 1) for u in fits], "Errors": errors},
            {"MeetingId": MEETING_ID, "Attendees": [{"ExternalUserId": u} for u in users]},
        )
        result = calls.batch_create_attendees(meeting_id, users)
        assert [a["ExternalUserId"] for a in result["Attendees"]] == fits
    assert [e["ExternalUserId"] for e in result["Errors"]] == [f"user-{i}" for i in range(250, 260)]
    assert {e["ErrorCode"] for e in result["Errors"]} == {"LimitExceeded"}


# -- capabilities -------------------------------------------------------------------------------------
#: one use of each capability. Chime runs its own media service: clients signal through it, so the
#: local signalling endpoint's checks are NotSupported there.
USES = {"signalling": lambda m: m.admit(MEETING_ID, "join-token")}
#: other places the same capability is used
ALSO = [
    ("signalling", lambda m: m.still_admitted(MEETING_ID, ATTENDEE_ID)),
    ("signalling", lambda m: m.set_connected(MEETING_ID, ATTENDEE_ID, True)),
]


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(chime, provider):
    calls = chime.meetings
    assert ("signalling" in calls.capabilities) == (provider == "local")
    assert_absent(calls, USES, also=ALSO)
    if "signalling" in calls.capabilities:
        meeting_id = calls.create_meeting("standup-42")["MeetingId"]
        ann = calls.create_attendee(meeting_id, "user-ann")
        assert calls.admit(meeting_id, ann["JoinToken"])["AttendeeId"] == ann["AttendeeId"]


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_changes_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "meetings", missing, CAPABILITIES)
    calls = make_app("local").meetings("calls")
    meeting_id = calls.create_meeting("standup-42")["MeetingId"]
    calls.create_attendee(meeting_id, "user-ann")
    state = lambda m: m.list_attendees(meeting_id)  # noqa: E731
    assert assert_absent(calls, USES, state=state, also=ALSO) == lacks


SIGNAL_APP = """
import strato
app = strato.App("callapp")
calls = app.meetings("calls", provider="{provider}")
"""


def test_the_signalling_endpoint_refuses_a_chime_hosted_resource_as_not_supported(provider, tmp_path):
    """Under strato dev: a bad token for a local meeting is 403; a resource on Chime is 501, saying why."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    spec = tmp_path / "signal_app.py"
    spec.write_text(SIGNAL_APP.format(provider=provider))
    server = start_dev_server(str(spec), tmp_path / "data")
    try:
        url = f"{server.url.replace('http', 'ws', 1)}/_strato/meetings/calls/signal?meeting={MEETING_ID}&token=t"
        with pytest.raises(InvalidStatus) as refused:
            connect(url)
        response = refused.value.response
        assert response.status_code == (403 if provider == "local" else 501)
        if provider == "aws":
            assert b"does not support signalling" in response.body
    finally:
        stop(server.proc)
