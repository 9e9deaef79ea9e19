"""The meetings provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

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
