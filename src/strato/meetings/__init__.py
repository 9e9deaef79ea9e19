"""Meetings (Chime SDK): create / get / delete meetings and their attendees, shaped like the Chime
SDK Meetings API (MeetingId, MediaPlacement, AttendeeId, JoinToken), with Chime's limits checked
before any call so both providers refuse the same input with the same words.

Locally a meeting registry plus a WebRTC signalling endpoint under ``strato dev`` stand in for
Chime's media service, so two browser tabs really call each other (see ``signalling.py``).
"""

from __future__ import annotations

import re
from typing import Any, cast

from ..core.context import Context
from ..core.errors import ValidationError
from ..core.permissions import requires
from ..core.resource import Resource
from .spi import ACTIONS, CAPABILITIES, MeetingsBackend, Signalling

__all__ = ["CAPABILITIES", "MEDIA_REGIONS", "Meetings"]

#: Chime SDK meeting media regions (CreateMeeting's MediaRegion)
MEDIA_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-south-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "us-gov-east-1",
        "us-gov-west-1",
    }
)
BATCH_ATTENDEES = 100  # BatchCreateAttendee: at most 100 attendees a call
MAX_ATTENDEES = 250  # attendees a meeting can have
IDLE_SECONDS = 5 * 60  # a meeting ends after five minutes with nobody connected
MAX_SECONDS = 24 * 3600  # ... and 24 hours after it was created
_ID = re.compile(r"^[-0-9a-f]{36}$")


def _external(value: Any, what: str) -> str:
    """ExternalMeetingId / ExternalUserId: 2-64 characters (Chime's bounds)."""
    if not isinstance(value, str) or not 2 <= len(value) <= 64:
        raise ValidationError(f"{what} must be a string of 2 to 64 characters, got {value!r}")
    return value


def _meeting_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValidationError(f"MeetingId must be a meeting's UUID, got {value!r}")
    return value


class Meetings(Resource[MeetingsBackend]):
    kind = "meetings"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(
        self,
        ctx: Context,
        name: str,
        *,
        media_region: str | None = None,
        provider: str | None = None,
        allow: Any = None,
    ) -> None:
        super().__init__(ctx, name, provider, allow)
        from ..runtime.aws import region

        self.media_region = self._region(media_region or region())

    @staticmethod
    def _region(value: Any) -> str:
        if value not in MEDIA_REGIONS:
            raise ValidationError(
                f"MediaRegion {value!r} is not a Chime SDK media region; use one of {', '.join(sorted(MEDIA_REGIONS))}"
            )
        return value

    # -- meetings ----------------------------------------------------------------------------------
    @requires("manage")
    def create_meeting(
        self, external_meeting_id: str, *, media_region: str | None = None, client_request_token: str | None = None
    ) -> dict[str, Any]:
        """A new meeting (CreateMeeting's ``Meeting``). The same ``client_request_token`` returns the
        same meeting, so a retried request does not open a second one."""
        if client_request_token is not None:
            _external(client_request_token, "ClientRequestToken")
        return self.backend.create_meeting(
            _external(external_meeting_id, "ExternalMeetingId"),
            self._region(media_region or self.media_region),
            client_request_token,
        )

    @requires("manage")
    def get_meeting(self, meeting_id: str) -> dict[str, Any]:
        """The meeting, or NotFound once it was deleted or ended (idle 5 minutes, or 24 hours old)."""
        return self.backend.get_meeting(_meeting_id(meeting_id))

    @requires("manage")
    def delete_meeting(self, meeting_id: str) -> None:
        """End the meeting now: every attendee is disconnected and every join token stops working."""
        self.backend.delete_meeting(_meeting_id(meeting_id))

    # -- attendees ---------------------------------------------------------------------------------
    @requires("manage")
    def create_attendee(self, meeting_id: str, external_user_id: str) -> dict[str, Any]:
        """An attendee with its JoinToken (CreateAttendee's ``Attendee``); the same ExternalUserId
        returns the same attendee."""
        return self.backend.create_attendee(_meeting_id(meeting_id), _external(external_user_id, "ExternalUserId"))

    @requires("manage")
    def batch_create_attendees(self, meeting_id: str, external_user_ids: list[str]) -> dict[str, Any]:
        """``{"Attendees": [...], "Errors": [...]}`` as BatchCreateAttendee answers (≤ 100 a call)."""
        ids = list(external_user_ids)
        if not 1 <= len(ids) <= BATCH_ATTENDEES:
            raise ValidationError(f"BatchCreateAttendee takes 1 to {BATCH_ATTENDEES} attendees, got {len(ids)}")
        return self.backend.batch_create_attendees(
            _meeting_id(meeting_id), [_external(i, "ExternalUserId") for i in ids]
        )

    @requires("manage")
    def get_attendee(self, meeting_id: str, attendee_id: str) -> dict[str, Any]:
        return self.backend.get_attendee(_meeting_id(meeting_id), _meeting_id(attendee_id))

    @requires("manage")
    def list_attendees(self, meeting_id: str) -> list[dict[str, Any]]:
        return self.backend.list_attendees(_meeting_id(meeting_id))

    @requires("manage")
    def delete_attendee(self, meeting_id: str, attendee_id: str) -> None:
        """Remove the attendee: its JoinToken stops working and a connected client is dropped."""
        self.backend.delete_attendee(_meeting_id(meeting_id), _meeting_id(attendee_id))

    def join_info(self, meeting_id: str, external_user_id: str) -> dict[str, Any]:
        """What a browser client needs to join: ``{"Meeting": ..., "Attendee": ...}``."""
        return {"Meeting": self.get_meeting(meeting_id), "Attendee": self.create_attendee(meeting_id, external_user_id)}

    # -- signalling (what strato dev's WebRTC endpoint asks; Chime runs its own media service) -------
    def admit(self, meeting_id: str, join_token: str) -> dict[str, Any]:
        """The attendee a join token belongs to if its meeting is live, else NotFound: the check the local
        signalling endpoint makes before it lets a browser in."""
        self._need("signalling")  # a backend with it is a Signalling one
        return cast(Signalling, self.backend).admit(_meeting_id(meeting_id), str(join_token))

    def still_admitted(self, meeting_id: str, attendee_id: str) -> bool:
        """False once the attendee was deleted or its meeting ended (a connected client is then dropped)."""
        self._need("signalling")  # a backend with it is a Signalling one
        return cast(Signalling, self.backend).still_admitted(_meeting_id(meeting_id), _meeting_id(attendee_id))

    def set_connected(self, meeting_id: str, attendee_id: str, connected: bool) -> None:
        """Presence, reported by the signalling endpoint: a meeting ends five minutes after the last one left."""
        self._need("signalling")  # a backend with it is a Signalling one
        cast(Signalling, self.backend).set_connected(_meeting_id(meeting_id), _meeting_id(attendee_id), bool(connected))

    def drop(self) -> None:
        self.backend.drop()
