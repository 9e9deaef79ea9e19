"""Path traversal against a site: whatever the request path (``..`` in every encoding, backslashes,
NUL, symlinks out of the directory), nothing outside the directory is ever served. Property-tested
in process through the same ASGI code `strato dev` runs (the wire cases are in test_site.py)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strato
from strato.local.site_server import Sites

SECRET = b"TOP-SECRET-OUTSIDE-THE-SITE"
SEGMENTS = [
    "..",
    ".",
    "...",
    "%2e%2e",
    "%2E%2e",
    ".%2e",
    "%2e.",
    "%252e%252e",
    "%2f",
    "%2F",
    "%5c",
    "\\",
    "..\\",
    "%00",
    "\x00",
    "%c0%ae%c0%ae",
    "..;",
    "assets",
    "index.html",
    "secret.txt",
    "escape",
    "",
    "~",
    "%",
    "a%2f..%2f..",
]


@pytest.fixture(scope="module")
def site_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("traversal")
    (root / "secret.txt").write_bytes(SECRET)
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(b"<h1>index</h1>")
    (dist / "assets" / "app.js").write_bytes(b"console.log('app')")
    os.symlink(root, dist / "escape")  # a link out of the directory is refused too
    inside = {p.read_bytes() for p in dist.rglob("*") if p.is_file() and "escape" not in p.parts}
    app = strato.App("paths", data_dir=root / "data")
    app.site("web", directory=str(dist), spa=True)
    return Sites(app), inside


def request(sites: Sites, raw: str) -> tuple[int, bytes]:
    path = unquote(raw)  # what the server hands the app: the target decoded once
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": raw.encode("latin-1", "replace"),
        "headers": [],
        "query_string": b"",
        "http_version": "1.1",
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    server = sites.pick(scope)
    assert server is not None
    asyncio.run(server(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=8), st.booleans())
def test_no_path_leaves_the_directory(site_files, segments, trailing):
    sites, inside = site_files
    raw = "/" + "/".join(segments) + ("/" if trailing else "")
    status, body = request(sites, raw)
    assert SECRET not in body
    assert status in (200, 404)
    if status == 200:
        assert body in inside


def test_the_symlink_and_the_encoded_forms_are_refused(site_files):
    sites, _ = site_files
    for raw in ("/escape/secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/..\\secret.txt"):
        status, body = request(sites, raw)
        assert SECRET not in body and status == 404, raw
    assert request(sites, "/assets/app.js") == (200, b"console.log('app')")
    assert Path(sites.servers[0].root).name == "dist"
