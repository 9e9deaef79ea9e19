"""Presigned URLs of the local bucket provider, in the shape of S3's SigV4 query authentication.

A URL carries ``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-SignedHeaders`` and ``X-Amz-Signature`` (plus ``uploadId`` / ``partNumber`` for a part), as S3's
do (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html). The signature is an
HMAC over a canonical request in which every field is percent-encoded, so no separator can appear
inside a field and no two different (method, bucket, key, expiry, content type, part) tuples share a
string to sign: a key holding "\\n" cannot shift its tail into another field. Unlike SigV4, header
values are percent-encoded too (a content type is the caller's string). The secret is local, so the
URLs verify only against ``strato dev``, not S3.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from ..core import clock

ALGORITHM = "AWS4-HMAC-SHA256"
ACCESS_KEY = "strato-local"
REGION = "local"
MAX_EXPIRES = 7 * 86_400  # SigV4: a presigned URL lives at most 7 days
MAX_SKEW = 15 * 60  # S3 refuses a request dated more than 15 minutes ahead of its clock
PAYLOAD = "UNSIGNED-PAYLOAD"
SIGNED_HEADER_SETS = ("host", "content-type;host")
_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_HEX = re.compile(r"^[0-9a-f]{64}$")
_DIGITS = re.compile(r"^[0-9]{1,7}$")


class Refused(Exception):
    """Why a presigned request is refused: the HTTP status and S3's error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def encode(value: str, safe: str = "") -> str:
    """SigV4's URI encoding: everything but the unreserved characters (and ``safe``) as %XX of UTF-8."""
    return quote(value, safe="-_.~" + safe)


def object_path(bucket: str, key: str) -> str:
    return f"/_strato/buckets/{encode(bucket)}/{encode(key, '/')}"


def _host(value: str) -> str:
    host = value.strip().lower()
    for default in (":80", ":443"):
        host = host.removesuffix(default)
    return host


def canonical_request(
    method: str, bucket: str, key: str, query: Iterable[tuple[str, str]], headers: dict[str, str]
) -> str:
    """One line per field, each field percent-encoded, so the lines can be split back unambiguously."""
    pairs = sorted((encode(k), encode(v)) for k, v in query if k != "X-Amz-Signature")
    signed = dict(pairs).get("X-Amz-SignedHeaders", "host").replace("%3B", ";")
    lines = "".join(f"{name}:{encode(headers.get(name, ''))}\n" for name in signed.split(";"))
    return "\n".join([method, object_path(bucket, key), "&".join(f"{k}={v}" for k, v in pairs), lines, signed, PAYLOAD])


def signature(secret: bytes, amz_date: str, canonical: str) -> str:
    """SigV4's string to sign and derived signing key (date, region, service), hex."""
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
    key = b"AWS4" + secret
    for part in (amz_date[:8], REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def presign(
    secret: bytes,
    base_url: str,
    method: str,
    bucket: str,
    key: str,
    expires_in: int,
    content_type: str | None,
    upload_id: str | None = None,
    part: int | None = None,
    now: float | None = None,
) -> str:
    amz_date = datetime.fromtimestamp(clock.now() if now is None else now, UTC).strftime("%Y%m%dT%H%M%SZ")
    query = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{ACCESS_KEY}/{amz_date[:8]}/{REGION}/s3/aws4_request"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", "content-type;host" if content_type else "host"),
    ]
    if upload_id is not None:
        query += [("partNumber", str(part)), ("uploadId", upload_id)]
    headers = {"host": _host(urlsplit(base_url).netloc), "content-type": content_type or ""}
    query.append(
        ("X-Amz-Signature", signature(secret, amz_date, canonical_request(method, bucket, key, query, headers)))
    )
    return base_url + object_path(bucket, key) + "?" + "&".join(f"{encode(k)}={encode(v)}" for k, v in query)


def verify(
    secret: bytes,
    method: str,
    bucket: str,
    key: str,
    query: Sequence[tuple[str, str]],
    headers: dict[str, str],
    now: float | None = None,
) -> None:
    """Return if the request is genuine and current; raise :class:`Refused` (S3's answer) if not.

    HEAD is checked as GET (S3 lets a GET URL be HEADed); any other method than the signed one fails the
    signature, as S3 answers.
    """
    params: dict[str, str] = {}
    for name, value in query:
        if name.startswith("X-Amz-") and name in params:
            raise Refused(400, "AuthorizationQueryParametersError", f"{name} is given twice")
        params[name] = value
    if "X-Amz-Signature" not in params and "X-Amz-Algorithm" not in params:
        raise Refused(403, "AccessDenied", "Access Denied")
    amz_date = params.get("X-Amz-Date", "")
    expires = params.get("X-Amz-Expires", "")
    if (
        params.get("X-Amz-Algorithm") != ALGORITHM
        or not _DATE.match(amz_date)
        or params.get("X-Amz-Credential") != f"{ACCESS_KEY}/{amz_date[:8]}/{REGION}/s3/aws4_request"
        or params.get("X-Amz-SignedHeaders") not in SIGNED_HEADER_SETS
        or not _DIGITS.match(expires)
    ):
        raise Refused(400, "AuthorizationQueryParametersError", "malformed X-Amz-* query parameters")
    if int(expires) > MAX_EXPIRES:
        raise Refused(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise Refused(400, "AuthorizationQueryParametersError", "X-Amz-Date is not a date") from None
    given = params.get("X-Amz-Signature", "")
    wanted = signature(
        secret,
        amz_date,
        canonical_request("GET" if method == "HEAD" else method, bucket, key, query, _normal(headers)),
    )
    if not _HEX.match(given) or not hmac.compare_digest(given.encode("ascii"), wanted.encode("ascii")):
        raise Refused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    at = clock.now() if now is None else now
    if signed_at > at + MAX_SKEW:
        raise Refused(403, "AccessDenied", "Request is not valid yet")
    if at > signed_at + int(expires):
        raise Refused(403, "AccessDenied", "Request has expired")


def _normal(headers: dict[str, str]) -> dict[str, str]:
    return {"host": _host(headers.get("host", "")), "content-type": headers.get("content-type", "")}
