"""Versions of a versioned bucket's objects, as S3's ListObjectVersions reports them, and the bucket's
lifecycle settings (transitions to storage classes, expiry of noncurrent versions).

S3 semantics (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html): every PUT makes a
new version with its own id; a DELETE without a version id adds a *delete marker* as the current
version (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html), so a GET of the key
is 404 while older versions stay readable by id; a DELETE with a version id removes that version for
good (removing the marker brings the previous version back).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..core.errors import ConfigurationError, ValidationError
from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass

#: the classes a lifecycle rule may move objects to, with the minimum days S3 accepts for each
#: (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html:
#: objects must be stored at least 30 days before moving to S3 Standard-IA or One Zone-IA)
STORAGE_CLASSES: dict[str, int] = {
    "STANDARD_IA": 30,
    "ONEZONE_IA": 30,
    "INTELLIGENT_TIERING": 0,
    "GLACIER_IR": 0,
    "GLACIER": 0,
    "DEEP_ARCHIVE": 0,
}
NULL_VERSION = "null"  # the version id S3 gives objects stored before versioning was enabled


@dataclass
class ObjectVersion:
    """One entry of ``list_versions``: an object version or a delete marker (``delete_marker``)."""

    key: str
    version_id: str
    is_latest: bool
    delete_marker: bool = False
    size: int = 0
    etag: str = ""
    last_modified: float = 0.0


@dataclass
class VersionPage:
    """Versions in key order, newest first within a key (S3's order); ``cursor`` for the next page."""

    entries: list[ObjectVersion]
    cursor: str | None = None

    @property
    def versions(self) -> list[ObjectVersion]:
        return [v for v in self.entries if not v.delete_marker]

    @property
    def delete_markers(self) -> list[ObjectVersion]:
        return [v for v in self.entries if v.delete_marker]

    def __iter__(self) -> Iterator[ObjectVersion]:
        return iter(self.entries)


@dataclass
class Deleted:
    """What a delete did: on a versioned bucket, the id of the marker added (or of the version removed)."""

    key: str
    version_id: str | None = None
    delete_marker: bool = False


def check_transitions(transitions: Any, expire_after_days: int | None) -> dict[int, str]:
    """``{days: storage_class}`` as S3 accepts it, in day order; ConfigurationError otherwise."""
    if transitions is None:
        return {}
    if not isinstance(transitions, dict):
        raise ConfigurationError('transition_after_days is {days: "STORAGE_CLASS"}, e.g. {30: "INTELLIGENT_TIERING"}')
    out: dict[int, str] = {}
    for days, storage_class in sorted(transitions.items(), key=lambda kv: _days(kv[0], "transition_after_days")):
        minimum = STORAGE_CLASSES.get(storage_class) if isinstance(storage_class, str) else None
        if minimum is None:
            raise ConfigurationError(
                f"transition_after_days: unknown storage class {storage_class!r}; use one of {sorted(STORAGE_CLASSES)}"
            )
        if days < minimum:
            raise ConfigurationError(f"S3 moves objects to {storage_class} only after {minimum} days or more")
        if storage_class in out.values():
            raise ConfigurationError(f"transition_after_days names {storage_class} twice")
        out[days] = storage_class
    if expire_after_days is not None and out and max(out) >= expire_after_days:
        raise ConfigurationError("expire_after_days must come after the last transition_after_days")
    return out


def check_days(value: Any, what: str) -> int | None:
    return None if value is None else _days(value, what, minimum=1)


def _days(value: Any, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{what}: days are whole numbers >= {minimum}, got {value!r}")
    return value


def check_version_id(version_id: Any) -> str:
    if not isinstance(version_id, str) or not version_id or len(version_id) > 1024:
        raise ValidationError("version_id is the id a put, a delete or list_versions returned")
    return version_id
