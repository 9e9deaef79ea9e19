"""``strato deploy`` for a site: put the built files in its bucket with their content types and
Cache-Control, skipping every file whose bytes are already there, delete what the build no longer has,
write ``/strato-config.json`` from the stack's outputs, and invalidate the paths that changed.

"Already there" is S3's own ETag: for a single-part upload with SSE-S3 it is the MD5 of the bytes, so
one listing tells what changed with no manifest to drift from the bucket."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..deploy.names import logical
from .deploy import api_origin, index_key, names
from .files import cache_control, content_type
from .settings import meeting_clients, module, settings

if TYPE_CHECKING:
    from ..app import App
    from . import Site

INVALIDATE_ALL_OVER = 15  # paths; beyond this one "/*" is cheaper (CloudFront bills invalidation paths)


@dataclass
class Published:
    uploaded: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    invalidated: list[str] = field(default_factory=list)


def local_files(site: Site) -> Iterator[tuple[str, bytes]]:
    """(key, bytes) of every file of the build, keys under the site's prefix, sorted."""
    base = site.prefix.strip("/")
    for folder, dirs, files in sorted(os.walk(site.directory)):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            relative = os.path.relpath(full, site.directory).replace(os.sep, "/")
            with open(full, "rb") as f:
                yield (f"{base}/{relative}" if base else relative), f.read()


def runtime_settings(app: App, site: Site, outputs: dict[str, str], region: str) -> dict[str, Any]:
    """``/strato-config.json`` on AWS: the HTTP API through the distribution when it is an origin there
    (same-origin), else its own URL; the WebSocket URLs and user pools from the stack's outputs."""
    http_url = outputs.get("HttpApiUrl")
    if http_url and api_origin(site, app._http):
        http_url = outputs[names(app, site)["url"]].removesuffix("/").removesuffix(site.prefix.rstrip("/"))
    sockets = {
        ws.name: outputs[f"{logical(ws.name, 'WebSocketApi')}Url"]
        for ws in app.of_kind("websocket")
        if f"{logical(ws.name, 'WebSocketApi')}Url" in outputs
    }
    pools = {
        pool.name: {
            "id": outputs[logical(pool.name, "UserPool")],
            "clientId": outputs[logical(pool.name, "UserPoolClient")],
        }
        for pool in app.of_kind("user_pool")
        if logical(pool.name, "UserPool") in outputs
    }
    meetings = meeting_clients(app.of_kind("meetings"), deployed=True)
    token_url = site.token_path if site.auth is not None else None  # answered by the Lambda@Edge gate
    return settings(
        stage=app.config.stage,
        region=region,
        http_url=http_url,
        websockets=sockets,
        pools=pools,
        meetings=meetings,
        token_url=token_url,
    )


def publish(
    app: App,
    site: Site,
    outputs: dict[str, str],
    s3: Any,
    cloudfront: Any | None,
    *,
    region: str,
    say: Callable[[str], None] = print,
) -> Published:
    """Sync the build to the site's bucket (named in ``outputs``) and invalidate what changed."""
    out = names(app, site)
    if out["bucket"] not in outputs:
        from ..core.errors import StratoError

        raise StratoError(
            f"site {site.name}: the stack has no {out['bucket']} output to upload to "
            f"(it has {', '.join(sorted(outputs)) or 'none'}); was it deployed from this app?"
        )
    bucket, distribution = outputs[out["bucket"]], outputs.get(out["distribution"])
    base = site.prefix.strip("/")
    existing = _listing(s3, bucket, f"{base}/" if base else "")
    wanted: dict[str, tuple[bytes, str, str]] = {
        key: (body, content_type(key), cache_control(key)) for key, body in local_files(site)
    }
    config_key = site.config_path.lstrip("/")
    config = json.dumps(runtime_settings(app, site, outputs, region), sort_keys=True, indent=2).encode()
    wanted[config_key] = (config, "application/json", "no-cache")
    wanted[site.module_path.lstrip("/")] = (
        module(site.config_path).encode(),
        "text/javascript; charset=utf-8",
        "no-cache",
    )
    result = Published()
    changed = [
        k
        for k, (body, _, _) in sorted(wanted.items())
        if existing.get(k) != hashlib.md5(body, usedforsecurity=False).hexdigest()
    ]
    result.unchanged = len(wanted) - len(changed)
    say(f"site {site.name}: {len(changed)} of {len(wanted)} files changed -> s3://{bucket}/{base}")
    for n, key in enumerate(changed, 1):
        body, ctype, cache = wanted[key]
        say(f"  [{n}/{len(changed)}] {key} ({len(body):,} bytes, {ctype}, {cache})")
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=ctype, CacheControl=cache)
        result.uploaded.append(key)
    gone = sorted(set(existing) - set(wanted))
    for start in range(0, len(gone), 1000):
        batch = gone[start : start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
    for key in gone:
        say(f"  deleted {key}")
    result.deleted = gone
    stale = [k for k in changed if k in existing] + gone  # new keys were never cached at the edge
    if stale and cloudfront is not None and distribution:
        paths = sorted({"/" + k for k in stale})
        if (index_key(site).lstrip("/") in stale and site.spa) or len(paths) > INVALIDATE_ALL_OVER:
            paths = [f"{site.prefix.rstrip('/')}/*"]  # the SPA's index answers every extension-less path
        cloudfront.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"strato-{site.name}-{time.time_ns()}",
            },
        )
        say(f"  invalidated {', '.join(paths)} on {distribution}")
        result.invalidated = paths
    return result


def _listing(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """key -> ETag (MD5 of a single-part upload) of every object under ``prefix``."""
    found: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = obj["ETag"].strip('"')
    return found
