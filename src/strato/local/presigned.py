"""Presigned bucket URLs served locally: ``/_strato/buckets/<bucket>/<key>?X-Amz-...``.

Every request is verified (``bucket/local_presign.py``: SigV4-shaped HMAC over method, bucket, key,
expiry, content type and part) before a byte moves; a tampered, expired or wrong-method URL gets S3's
403 XML error (a method the URL was not signed for is SignatureDoesNotMatch, as on S3; HEAD is allowed
on a GET URL). GET honours Range as S3 does (206, 416 InvalidRange, a malformed Range ignored); PUT
streams the body to the bucket (or to one part of a multipart upload).
"""

from __future__ import annotations

import asyncio
import queue
import re
from email.utils import formatdate
from html import escape
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..core.errors import ItemTooLarge, NotFound, StratoError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..app import App

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_BEYOND = 1 << 62  # a position with more digits than any object has bytes: only compared, never allocated
#: every method a URL could be tried with: the ones it was not signed for are refused as S3 refuses them
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]


def s3_error(status: int, code: str, message: str, key: str = "") -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
        f"<Key>{escape(key)}</Key></Error>"
    )
    return Response(body, status, media_type="application/xml")


def _position(digits: str) -> int:
    """A byte position, without turning thousands of digits into an int (Python refuses over 4300)."""
    digits = digits.lstrip("0") or "0"
    return _BEYOND if len(digits) > 18 else int(digits)


def _range(header: str | None) -> tuple[int, int | None] | None:
    """The Range of a GET as S3 reads it (one range; RFC 9110 section 14.2, which S3's GetObject cites):
    a header that does not parse, or whose last position precedes its first, is ignored (the whole
    object, 200); a zero-length suffix (``bytes=-0``) is unsatisfiable (416 InvalidRange)."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    start, end = match.group(1), match.group(2)
    if not start:
        suffix = _position(end)
        if suffix == 0:
            raise ValidationError(f"InvalidRange: a zero-length suffix ({header!r}) selects no bytes")
        return -suffix, None
    first, last = _position(start), _position(end) if end else None
    if last is not None and last < first:
        return None
    return first, last


def make_endpoint(app_of: Callable[[], App]) -> Any:
    """The endpoint, finding buckets in ``app_of()``: the App being served (it changes on reload)."""

    async def endpoint(request: Request) -> Response:
        from ..bucket.local import LocalBucketBackend
        from ..bucket.local_presign import Refused

        bucket = app_of().resources.get(("bucket", request.path_params["bucket"]))
        key = request.path_params["key"]
        if bucket is None or not isinstance(bucket.backend, LocalBucketBackend):
            return s3_error(404, "NoSuchBucket", "The specified bucket does not exist", key)
        backend = bucket.backend
        query = request.query_params.multi_items()
        try:
            backend.verify(request.method, key, query, dict(request.headers))
        except Refused as refused:
            return s3_error(refused.status, refused.code, refused.message, key)
        if request.method not in ("GET", "HEAD", "PUT"):  # signed for another method: cannot happen
            return s3_error(403, "SignatureDoesNotMatch", "no presigned URL is signed for this method", key)
        params = dict(query)
        try:
            if request.method == "HEAD":
                return await _head(backend, key)
            if request.method == "GET":
                return await _get(backend, key, request)
            return await _put(backend, key, params, request)
        except NotFound as exc:
            code = "NoSuchUpload" if "NoSuchUpload" in str(exc) else "NoSuchKey"
            return s3_error(404, code, str(exc), key)
        except ItemTooLarge as exc:
            return s3_error(400, "EntityTooLarge", str(exc), key)
        except ValidationError as exc:
            status = 416 if "InvalidRange" in str(exc) else 400
            return s3_error(status, "InvalidRange" if status == 416 else "InvalidRequest", str(exc), key)
        except StratoError as exc:
            return s3_error(500, "InternalError", str(exc), key)

    return endpoint


def _headers(info: Any) -> dict[str, str]:
    return {
        "ETag": info.etag,
        "Last-Modified": formatdate(info.last_modified, usegmt=True),
        "Accept-Ranges": "bytes",
        **{f"x-amz-meta-{k}": v for k, v in info.metadata.items()},
    }


async def _head(backend: Any, key: str) -> Response:
    info = await run_in_threadpool(backend.head, key)
    headers = {**_headers(info), "Content-Length": str(info.size), "Content-Type": info.content_type}
    return Response(status_code=200, headers=headers)


async def _get(backend: Any, key: str, request: Request) -> Response:
    wanted = _range(request.headers.get("range"))
    info, body = await run_in_threadpool(backend.open, key, wanted)
    headers = _headers(info)
    status = 200
    if wanted is not None:
        from ..bucket import check_range

        start, end = check_range(wanted, info.size) or (0, -1)
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
        headers["Content-Length"] = str(end - start + 1)
        status = 206
    else:
        headers["Content-Length"] = str(info.size)

    async def stream():
        while True:
            chunk = await run_in_threadpool(next, body, None)
            if chunk is None:
                return
            yield chunk

    return StreamingResponse(stream(), status, headers=headers, media_type=info.content_type)


async def _put(backend: Any, key: str, params: dict, request: Request) -> Response:
    chunks: queue.Queue = queue.Queue(maxsize=8)

    def consume() -> Any:
        def body():
            while (chunk := chunks.get()) is not None:
                yield chunk

        if "uploadId" in params:
            return backend.upload_part(key, params["uploadId"], int(params["partNumber"]), body())
        content_type = request.headers.get("content-type") or "application/octet-stream"
        return backend.put(key, body(), content_type, {}).etag

    loop = asyncio.get_running_loop()
    writer = loop.run_in_executor(None, consume)
    try:
        async for chunk in request.stream():
            if chunk:
                while True:
                    try:
                        chunks.put_nowait(chunk)
                        break
                    except queue.Full:
                        if writer.done():
                            break
                        await asyncio.sleep(0.001)
            if writer.done():
                break
    finally:
        while True:
            try:
                chunks.put_nowait(None)
                break
            except queue.Full:
                if writer.done():
                    break
                await asyncio.sleep(0.001)
    etag = await writer
    return Response(status_code=200, headers={"ETag": etag})
