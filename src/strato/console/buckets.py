"""The bucket browser: list by prefix (with "folders"), download, upload (the body is the object, so a
page never needs a multipart form parser), delete, and presigned GET / PUT URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from .web import BadRequest, blocking, body, endpoint, field, query_int, resource

MAX_UPLOAD = 64 << 20  # the page uploads in one request; bigger files belong to presigned multipart


@endpoint
async def buckets(request: Request) -> Any:
    return [
        {"name": b.name, "physical": b.physical_name, "provider": b.provider}
        for b in request.app.state.app.of_kind("bucket")
    ]


@endpoint
async def objects(request: Request) -> Any:
    bucket = resource(request, "bucket")
    delimiter = request.query_params.get("delimiter", "/") or None
    page = await blocking(
        bucket.list,
        request.query_params.get("prefix", ""),
        delimiter=delimiter,
        limit=query_int(request, "limit", 200, 1, 1000),
        cursor=request.query_params.get("cursor") or None,
    )
    return {"objects": [o.as_dict() for o in page.objects], "prefixes": page.prefixes, "cursor": page.cursor}


def _key(request: Request) -> str:
    key = request.query_params.get("key", "")
    if not key:
        raise BadRequest("key is required (?key=...)")
    return key


@endpoint
async def download(request: Request) -> Any:
    bucket = resource(request, "bucket")
    info, chunks = await blocking(bucket.open, _key(request))
    name = quote(info.key.rsplit("/", 1)[-1] or "object")
    return StreamingResponse(
        chunks,
        media_type=info.content_type,
        headers={
            "content-length": str(info.size),
            "content-disposition": f"attachment; filename*=UTF-8''{name}",
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )


@endpoint
async def upload(request: Request) -> Any:
    bucket = resource(request, "bucket")
    key = _key(request)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD:
        raise BadRequest(f"upload over {MAX_UPLOAD} bytes: use a presigned PUT URL", 413)
    data = await request.body()
    if len(data) > MAX_UPLOAD:
        raise BadRequest(f"upload over {MAX_UPLOAD} bytes: use a presigned PUT URL", 413)
    content_type = request.headers.get("content-type") or "application/octet-stream"
    info = await blocking(bucket.put, key, data, content_type=content_type)
    return info.as_dict()


@endpoint
async def delete(request: Request) -> Any:
    bucket = resource(request, "bucket")
    key = _key(request)
    await blocking(bucket.delete, key)
    return {"deleted": key}


@endpoint
async def presign(request: Request) -> Any:
    bucket = resource(request, "bucket")
    data = await body(request)
    key = field(data, "key", str)
    method = field(data, "method", str, "GET").upper()
    expires = field(data, "expires_in", int, 3600)
    if method == "GET":
        url = await blocking(bucket.presign_get, key, expires_in=expires)
    elif method == "PUT":
        url = await blocking(
            bucket.presign_put, key, expires_in=expires, content_type=field(data, "content_type", str, None)
        )
    else:
        raise BadRequest("method must be GET or PUT")
    return {"url": url, "method": method, "expires_in": expires}


ROUTES = [
    Route("/_strato/console/api/buckets", buckets),
    Route("/_strato/console/api/buckets/{name}/objects", objects),
    Route("/_strato/console/api/buckets/{name}/object", download, methods=["GET"]),
    Route("/_strato/console/api/buckets/{name}/object", upload, methods=["PUT"]),
    Route("/_strato/console/api/buckets/{name}/object", delete, methods=["DELETE"]),
    Route("/_strato/console/api/buckets/{name}/presign", presign, methods=["POST"]),
]
