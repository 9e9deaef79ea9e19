"""Argument checks of the bucket primitive, with S3's limits: metadata, presign expiry, part numbers,
upload ids and byte ranges."""

from __future__ import annotations

import re

from ..core.errors import ValidationError
from ..core.hints import Any

MAX_PRESIGN_S = 7 * 86_400  # SigV4 presigned URLs live at most 7 days
MAX_PARTS = 10_000
_METADATA_NAME = re.compile(r"^[a-z0-9][a-z0-9\-_.]*$")


def check_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    if not metadata:
        return {}
    out = {}
    for name, value in metadata.items():
        lowered = str(name).lower()
        if not _METADATA_NAME.match(lowered) or not isinstance(value, str):
            raise ValidationError(f"metadata {name!r}: names are lowercase letters, digits, - _ . and values strings")
        if not value.isascii():
            raise ValidationError(f"metadata {name!r}: S3 user metadata values must be ASCII")
        out[lowered] = value
    if sum(len(k) + len(v) for k, v in out.items()) > 2048:
        raise ValidationError("user metadata is limited to 2 KB in total")
    return out


def _expiry(seconds: Any) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_PRESIGN_S:
        raise ValidationError(f"expires_in must be 1 to {MAX_PRESIGN_S} seconds (7 days, SigV4's limit)")
    return seconds


def _part(number: Any) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_PARTS:
        raise ValidationError(f"part numbers are 1 to {MAX_PARTS}")
    return number


def _upload(upload_id: Any) -> str:
    if not isinstance(upload_id, str) or not upload_id:
        raise ValidationError("pass the upload id start_multipart returned")
    return upload_id


def _check_range_arg(byte_range: Any) -> tuple[int, int | None] | None:
    if byte_range is None:
        return None
    if (
        not isinstance(byte_range, tuple)
        or len(byte_range) != 2
        or not isinstance(byte_range[0], int)
        or (byte_range[1] is not None and not isinstance(byte_range[1], int))
    ):
        raise ValidationError("range is (start, end) inclusive, (start, None) or (-suffix_length, None)")
    return byte_range
