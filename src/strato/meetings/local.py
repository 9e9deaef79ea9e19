"""The local meeting registry: meetings and attendees in SQLite, join tokens stored as digests, and
presence (who is connected to the signalling endpoint) so meetings end as Chime's do.

A meeting ends when deleted, 24 hours after creation, or after five minutes with nobody connected
(counted from creation until someone joins). Ended meetings answer NotFound, like Chime's.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.clock import now as strato_now
from ..core.context import ProviderServices
from ..core.errors import NotFound, ValidationError
from ..runtime.sqlite import Database
from . import IDLE_SECONDS, MAX_ATTENDEES, MAX_SECONDS

if TYPE_CHECKING:
    from . import Meetings

SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (id TEXT PRIMARY KEY, resource TEXT NOT NULL, external_id TEXT NOT NULL,
  media_region TEXT NOT NULL, request_token TEXT, created REAL NOT NULL, empty_since REAL, deleted INTEGER
  NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS meetings_token ON meetings (resource, request_token);
CREATE TABLE IF NOT EXISTS attendees (id TEXT PRIMARY KEY, meeting TEXT NOT NULL, external_user_id TEXT NOT NULL,
  token_digest TEXT NOT NULL, token TEXT NOT NULL, connected INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS attendees_user ON attendees (meeting, external_user_id);
CREATE INDEX IF NOT EXISTS attendees_token ON attendees (token_digest)
"""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LocalMeetingStore:
    def __init__(self, data_dir: str | Path, durability: str = "process") -> None:
        self.db = Database(Path(data_dir) / "meetings.db", durability)
        with self.db.write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def close(self) -> None:
        self.db.close()


class LocalMeetingsBackend:
    capabilities = frozenset({"signalling"})

    def __init__(
        self,
        store: LocalMeetingStore,
        meetings: Meetings,
        signalling_url: Callable[[], str],
        clock: Callable[[], float] = strato_now,
    ) -> None:
        self.store = store
        self.resource = meetings.name
        self.signalling_url = signalling_url
        self.now = clock

    @property
    def conn(self) -> Any:
        return self.store.db.conn

    # -- meetings ----------------------------------------------------------------------------------
    def _shape(self, row: tuple) -> dict[str, Any]:
        meeting_id, external_id, region = row[0], row[1], row[2]
        base = self.signalling_url()
        placement = {
            "SignalingUrl": f"{base}?meeting={meeting_id}",
            "AudioHostUrl": f"{base.split('//', 1)[1].split('/', 1)[0]}:3478",
            "AudioFallbackUrl": f"{base}/audio?meeting={meeting_id}",
            "TurnControlUrl": f"{base}/turn?meeting={meeting_id}",
            "ScreenDataUrl": f"{base}/screen?meeting={meeting_id}",
            "ScreenViewingUrl": f"{base}/screen-view?meeting={meeting_id}",
            "ScreenSharingUrl": f"{base}/screen-share?meeting={meeting_id}",
            "EventIngestionUrl": f"{base}/events?meeting={meeting_id}",
        }
        return {
            "MeetingId": meeting_id,
            "ExternalMeetingId": external_id,
            "MediaRegion": region,
            "MediaPlacement": placement,
            "MeetingArn": f"arn:aws:chime:{region}:000000000000:meeting/{meeting_id}",
        }

    def _live(self, meeting_id: str) -> tuple:
        """The meeting's row if it has not ended, else NotFound (and its attendees are cleared)."""
        row = self.conn.execute(
            "SELECT id, external_id, media_region, created, empty_since, deleted FROM meetings "
            "WHERE id = ? AND resource = ?",
            (meeting_id, self.resource),
        ).fetchone()
        if row is None:
            raise NotFound(f"The meeting {meeting_id} is not found")
        now = self.now()
        if row[5] or now - row[3] >= MAX_SECONDS or (row[4] is not None and now - row[4] >= IDLE_SECONDS):
            self._end(meeting_id)
            raise NotFound(f"The meeting {meeting_id} has ended")
        return row

    def _end(self, meeting_id: str) -> None:
        with self.store.db.write() as conn:
            conn.execute("UPDATE meetings SET deleted = 1 WHERE id = ?", (meeting_id,))
            conn.execute("DELETE FROM attendees WHERE meeting = ?", (meeting_id,))

    def create_meeting(self, external_id: str, region: str, request_token: str | None) -> dict[str, Any]:
        with self.store.db.write() as conn:
            if request_token is not None:
                found = conn.execute(
                    "SELECT id, external_id, media_region FROM meetings WHERE resource = ? AND request_token = ?",
                    (self.resource, request_token),
                ).fetchone()
                if found is not None:
                    return self._shape(found)
            meeting_id = str(uuid.uuid4())
            now = self.now()
            conn.execute(
                "INSERT INTO meetings (id, resource, external_id, media_region, request_token, created, "
                "empty_since) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (meeting_id, self.resource, external_id, region, request_token, now, now),
            )
        return self._shape((meeting_id, external_id, region))

    def get_meeting(self, meeting_id: str) -> dict[str, Any]:
        return self._shape(self._live(meeting_id))

    def delete_meeting(self, meeting_id: str) -> None:
        self._live(meeting_id)
        self._end(meeting_id)

    # -- attendees ---------------------------------------------------------------------------------
    @staticmethod
    def _attendee(row: tuple, with_token: bool = True) -> dict[str, Any]:
        out = {"ExternalUserId": row[1], "AttendeeId": row[0]}
        if with_token:
            out["JoinToken"] = row[2]
        return out

    def create_attendee(self, meeting_id: str, external_user_id: str) -> dict[str, Any]:
        self._live(meeting_id)
        return self._add_attendee(meeting_id, external_user_id)

    def _add_attendee(self, meeting_id: str, external_user_id: str) -> dict[str, Any]:
        with self.store.db.write() as conn:
            found = conn.execute(
                "SELECT id, external_user_id, token FROM attendees WHERE meeting = ? AND external_user_id = ?",
                (meeting_id, external_user_id),
            ).fetchone()
            if found is not None:
                return self._attendee(found)
            count = conn.execute("SELECT COUNT(*) FROM attendees WHERE meeting = ?", (meeting_id,)).fetchone()[0]
            if count >= MAX_ATTENDEES:
                raise ValidationError(f"The meeting already has {MAX_ATTENDEES} attendees, the most it can have")
            attendee_id = str(uuid.uuid4())
            token = secrets.token_urlsafe(48)
            conn.execute(
                "INSERT INTO attendees (id, meeting, external_user_id, token_digest, token, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (attendee_id, meeting_id, external_user_id, _digest(token), token, self.now()),
            )
        return {"ExternalUserId": external_user_id, "AttendeeId": attendee_id, "JoinToken": token}

    def batch_create_attendees(self, meeting_id: str, external_user_ids: list[str]) -> dict[str, Any]:
        self._live(meeting_id)
        attendees, errors = [], []
        for external in external_user_ids:
            try:
                attendees.append(self._add_attendee(meeting_id, external))  # the meeting was checked once
            except ValidationError as exc:
                errors.append({"ExternalUserId": external, "ErrorCode": "LimitExceeded", "ErrorMessage": str(exc)})
        return {"Attendees": attendees, "Errors": errors}

    def get_attendee(self, meeting_id: str, attendee_id: str) -> dict[str, Any]:
        self._live(meeting_id)
        row = self.conn.execute(
            "SELECT id, external_user_id, token FROM attendees WHERE meeting = ? AND id = ?", (meeting_id, attendee_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"The attendee {attendee_id} is not found in meeting {meeting_id}")
        return self._attendee(row)

    def list_attendees(self, meeting_id: str) -> list[dict[str, Any]]:
        self._live(meeting_id)
        rows = self.conn.execute(
            "SELECT id, external_user_id, token FROM attendees WHERE meeting = ? ORDER BY created, id", (meeting_id,)
        ).fetchall()
        return [self._attendee(r, with_token=False) for r in rows]  # ListAttendees omits join tokens

    def delete_attendee(self, meeting_id: str, attendee_id: str) -> None:
        self.get_attendee(meeting_id, attendee_id)
        with self.store.db.write() as conn:
            conn.execute("DELETE FROM attendees WHERE id = ?", (attendee_id,))
        self._recount(meeting_id)

    # -- presence (the signalling endpoint reports who is connected) ------------------------------
    def admit(self, meeting_id: str, join_token: str) -> dict[str, Any]:
        """The attendee this join token belongs to, if its meeting is live; else NotFound."""
        self._live(meeting_id)
        row = self.conn.execute(
            "SELECT id, external_user_id, token FROM attendees WHERE meeting = ? AND token_digest = ?",
            (meeting_id, _digest(str(join_token))),
        ).fetchone()
        if row is None:
            raise NotFound("The join token does not belong to an attendee of this meeting")
        return self._attendee(row, with_token=False)

    def still_admitted(self, meeting_id: str, attendee_id: str) -> bool:
        try:
            self._live(meeting_id)
        except NotFound:
            return False
        return self.conn.execute("SELECT 1 FROM attendees WHERE id = ?", (attendee_id,)).fetchone() is not None

    def set_connected(self, meeting_id: str, attendee_id: str, connected: bool) -> None:
        with self.store.db.write() as conn:
            conn.execute("UPDATE attendees SET connected = ? WHERE id = ?", (int(connected), attendee_id))
        self._recount(meeting_id)

    def _recount(self, meeting_id: str) -> None:
        """``empty_since``: NULL while anyone is connected, else when the last one left."""
        with self.store.db.write() as conn:
            present = conn.execute(
                "SELECT COUNT(*) FROM attendees WHERE meeting = ? AND connected = 1", (meeting_id,)
            ).fetchone()[0]
            if present:
                conn.execute("UPDATE meetings SET empty_since = NULL WHERE id = ?", (meeting_id,))
            else:
                conn.execute(
                    "UPDATE meetings SET empty_since = COALESCE(empty_since, ?) WHERE id = ?", (self.now(), meeting_id)
                )

    def drop(self) -> None:
        with self.store.db.write() as conn:
            conn.execute(
                "DELETE FROM attendees WHERE meeting IN (SELECT id FROM meetings WHERE resource = ?)", (self.resource,)
            )
            conn.execute("DELETE FROM meetings WHERE resource = ?", (self.resource,))


def open_backend(meetings: Meetings, services: ProviderServices) -> LocalMeetingsBackend:
    """The registry's factory: a registry in SQLite; signalling URLs point at the running dev server."""
    from .signalling import signalling_url

    store = services.local_store(LocalMeetingStore)
    return LocalMeetingsBackend(store, meetings, lambda: signalling_url(services.config.data_dir, meetings.name))
