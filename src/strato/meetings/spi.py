"""The meetings provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from typing import Any, Protocol

#: signalling: the provider serves WebRTC signalling itself (locally, under strato dev); Chime does its own
CAPABILITIES = frozenset({"signalling"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {
    "manage": (
        "chime:CreateMeeting",
        "chime:GetMeeting",
        "chime:DeleteMeeting",
        "chime:CreateAttendee",
        "chime:BatchCreateAttendee",
        "chime:GetAttendee",
        "chime:ListAttendees",
        "chime:DeleteAttendee",
    )
}


class MeetingsBackend(Protocol):
    """Meetings and attendees in Chime SDK shapes; names, regions and limits are checked by the facade."""

    capabilities: frozenset[str]

    def create_meeting(self, external_id: str, region: str, request_token: str | None) -> dict[str, Any]: ...
    def get_meeting(self, meeting_id: str) -> dict[str, Any]: ...
    def delete_meeting(self, meeting_id: str) -> None: ...
    def create_attendee(self, meeting_id: str, external_user_id: str) -> dict[str, Any]: ...
    def batch_create_attendees(self, meeting_id: str, external_user_ids: list[str]) -> dict[str, Any]: ...
    def get_attendee(self, meeting_id: str, attendee_id: str) -> dict[str, Any]: ...
    def list_attendees(self, meeting_id: str) -> list[dict[str, Any]]: ...
    def delete_attendee(self, meeting_id: str, attendee_id: str) -> None: ...
    def drop(self) -> None: ...


class Signalling(MeetingsBackend, Protocol):
    """A backend with ``signalling``: it admits attendees to the WebRTC signalling it serves."""

    def admit(self, meeting_id: str, join_token: str) -> dict[str, Any]: ...
    def still_admitted(self, meeting_id: str, attendee_id: str) -> bool: ...
    def set_connected(self, meeting_id: str, attendee_id: str, connected: bool) -> None: ...
