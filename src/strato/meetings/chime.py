"""The AWS meetings provider: the Chime SDK Meetings API (``chime-sdk-meetings``) through boto3.

Chime's NotFoundException / ForbiddenException (an ended meeting) become NotFound, its
BadRequestException / LimitExceededException become ValidationError, so code written against the
local registry handles AWS's answers unchanged.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..core.context import AwsClients, ProviderServices
from ..core.errors import NotFound, ValidationError
from ..runtime.aws import error_code

if TYPE_CHECKING:
    from . import Meetings

_NOT_FOUND = {"NotFoundException", "ForbiddenException", "GoneException"}
_INVALID = {"BadRequestException", "LimitExceededException", "UnprocessableEntityException"}


class ChimeMeetingsBackend:
    capabilities: frozenset[str] = frozenset()

    def __init__(self, session: AwsClients) -> None:
        self.session = session

    @property
    def client(self) -> Any:
        return self.session.client("chime-sdk-meetings")

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, operation)(**params)
        except Exception as exc:
            code = error_code(exc)
            message = (getattr(exc, "response", None) or {}).get("Error", {}).get("Message") or code
            if code in _NOT_FOUND:
                raise NotFound(message) from None
            if code in _INVALID:
                raise ValidationError(message) from None
            raise

    def create_meeting(self, external_id: str, region: str, request_token: str | None) -> dict[str, Any]:
        return self._call(
            "create_meeting",
            ClientRequestToken=request_token or str(uuid.uuid4()),
            MediaRegion=region,
            ExternalMeetingId=external_id,
        )["Meeting"]

    def get_meeting(self, meeting_id: str) -> dict[str, Any]:
        return self._call("get_meeting", MeetingId=meeting_id)["Meeting"]

    def delete_meeting(self, meeting_id: str) -> None:
        self._call("delete_meeting", MeetingId=meeting_id)

    def create_attendee(self, meeting_id: str, external_user_id: str) -> dict[str, Any]:
        return self._call("create_attendee", MeetingId=meeting_id, ExternalUserId=external_user_id)["Attendee"]

    def batch_create_attendees(self, meeting_id: str, external_user_ids: list[str]) -> dict[str, Any]:
        result = self._call(
            "batch_create_attendee", MeetingId=meeting_id, Attendees=[{"ExternalUserId": e} for e in external_user_ids]
        )
        return {"Attendees": result.get("Attendees", []), "Errors": result.get("Errors", [])}

    def get_attendee(self, meeting_id: str, attendee_id: str) -> dict[str, Any]:
        return self._call("get_attendee", MeetingId=meeting_id, AttendeeId=attendee_id)["Attendee"]

    def list_attendees(self, meeting_id: str) -> list[dict[str, Any]]:
        attendees, token = [], None
        while True:
            page = self._call(
                "list_attendees", MeetingId=meeting_id, MaxResults=100, **({"NextToken": token} if token else {})
            )
            attendees += [{k: a[k] for k in ("ExternalUserId", "AttendeeId") if k in a} for a in page["Attendees"]]
            token = page.get("NextToken")
            if not token:
                return attendees

    def delete_attendee(self, meeting_id: str, attendee_id: str) -> None:
        self._call("delete_attendee", MeetingId=meeting_id, AttendeeId=attendee_id)

    def drop(self) -> None:
        """Chime meetings end on their own; there is nothing to delete."""


def open_backend(meetings: Meetings, services: ProviderServices) -> ChimeMeetingsBackend:
    """The registry's factory: Chime SDK Meetings through boto3."""
    return ChimeMeetingsBackend(services.aws())
