"""app.site under a real `strato dev`: content types, ETag / 304, Cache-Control, CloudFront's compression
rules, ranges, the SPA fallback and 404 page, precedence beside the HTTP API, the runtime configuration."""

from __future__ import annotations

import gzip
import socket
import textwrap
import time
from pathlib import Path

import brotli
import httpx
import pytest

import strato
from strato.core.errors import ConfigurationError
from strato.site.files import cache_control, compressible, content_type, is_hashed
from tests.conftest import start_dev_server, stop

APP = """
import strato
app = strato.App("siteapp")
api = app.http()
live = app.websocket("live")
pool = app.user_pool("users")
site = app.site("web", directory="dist", spa=SPA, prefix=PREFIX)

@api.get("/api/hello")
def hello(req):
    return {"hello": "api"}

@api.post("/login")
def login(req):
    return {"posted": True}
"""

JS = "export const answer = 42;\n" * 60  # ~1.6 KB: compressible
INDEX = "<!doctype html><html><head><title>site</title></head><body>" + "<p>page</p>" * 100 + "</body></html>"


def write_site(root: Path, *, spa: bool = True, prefix: str = "/", not_found: bool = False) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-BxYz12_a.js").write_text(JS)
    (dist / "assets" / "style.css").write_text("body{margin:0}\n" * 100)
    (dist / "tiny.txt").write_text("x" * 999)  # under CloudFront's 1,000-byte floor
    (dist / "edge.txt").write_text("y" * 1000)  # exactly at it
    (dist / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (dist / "docs").mkdir()
    (dist / "docs" / "index.html").write_text("<h1>docs index</h1>")
    if not_found:
        (dist / "404.html").write_text("<h1>custom not found</h1>")
    app = root / "site_app.py"
    app.write_text(APP.replace("SPA", repr(spa)).replace("PREFIX", repr(prefix)))
    return app


@pytest.fixture(scope="module")
def spa_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("spa")
    server = start_dev_server(str(write_site(root)), root / "data")
    yield server
    stop(server.proc)


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain")
    server = start_dev_server(str(write_site(root, spa=False, prefix="/app", not_found=True)), root / "data")
    yield server
    stop(server.proc)


def get(server, path: str, **headers: str) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers)


# -- declaration ------------------------------------------------------------------------------------
def test_a_missing_directory_fails_at_declaration_with_the_path(tmp_path):
    app = strato.App("decl", data_dir=tmp_path / "data")
    with pytest.raises(ConfigurationError, match=r"directory .*nowhere/dist does not exist .*build"):
        app.site("web", directory=str(tmp_path / "nowhere" / "dist"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="is not a directory"):
        app.site("web", directory=str(tmp_path / "file"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prefix": "app"}, "must start with '/'"),
        ({"prefix": "/_strato/x"}, "outside /_strato and /ws"),
        ({"prefix": "/a b"}, "plain path segments"),
        ({"config_name": "../x.json"}, "plain file name ending in .json"),
        ({"config_name": "config.js"}, "plain file name ending in .json"),
        ({"price_class": "PriceClass_Cheap"}, "PriceClass_100"),
        ({"auth": object()}, "takes a user pool"),
        ({"build": "  "}, "shell command"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, options, message):
    app = strato.App("decl", data_dir=tmp_path / "data")
    with pytest.raises(ConfigurationError, match=message):
        app.site("web", directory=str(tmp_path), **options)


def test_directory_is_relative_to_the_declaring_file(tmp_path):
    (tmp_path / "web" / "dist").mkdir(parents=True)
    spec = tmp_path / "decl_app.py"
    spec.write_text("import strato\napp = strato.App('decl')\nsite = app.site('web', directory='web/dist')\n")
    namespace: dict = {"__file__": str(spec)}
    exec(compile(spec.read_text(), str(spec), "exec"), namespace)
    assert namespace["site"].directory == str(tmp_path / "web" / "dist")


def test_names_and_types():
    assert is_hashed("assets/index-BxYz12_a.js") and is_hashed("main.3f9a1c2e.js") and is_hashed("a-DiwrgTda.css")
    assert not is_hashed("app-settings.js") and not is_hashed("index.html") and not is_hashed("favicon.ico")
    assert cache_control("assets/index-BxYz12_a.js") == "public, max-age=31536000, immutable"
    assert cache_control("index.html") == cache_control("robots.txt") == "no-cache"
    assert content_type("a/b.mjs").startswith("text/javascript") and content_type("x.woff2") == "font/woff2"
    assert content_type("README") == content_type("dir.d/file") == "application/octet-stream"
    assert compressible("text/css; charset=utf-8", 1000) and not compressible("text/css", 999)
    assert compressible("application/json", 10_000_000) and not compressible("application/json", 10_000_001)
    assert not compressible("image/png", 5000) and not compressible("font/woff2", 5000)


# -- serving ----------------------------------------------------------------------------------------
def test_files_with_types_cache_control_and_etag(spa_server):
    js = get(spa_server, "/assets/index-BxYz12_a.js", **{"accept-encoding": "identity"})
    assert js.status_code == 200 and js.text == JS
    assert js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert js.headers["content-length"] == str(len(JS)) and "content-encoding" not in js.headers
    page = get(spa_server, "/", **{"accept-encoding": "identity"})
    assert page.text == INDEX and page.headers["cache-control"] == "no-cache"
    assert page.headers["etag"].startswith('"') and page.headers["content-type"] == "text/html; charset=utf-8"
    assert get(spa_server, "/logo.png").headers["content-type"] == "image/png"
    assert get(spa_server, "/docs/").text == "<h1>docs index</h1>"


def test_if_none_match_revalidates_with_304(spa_server):
    first = get(spa_server, "/assets/style.css", **{"accept-encoding": "identity"})
    again = get(
        spa_server, "/assets/style.css", **{"if-none-match": first.headers["etag"], "accept-encoding": "identity"}
    )
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    assert get(spa_server, "/assets/style.css", **{"if-none-match": '"other"'}).status_code == 200
    # a compressed copy carries CloudFront's weak form of the same tag, and revalidates against either
    br = get(spa_server, "/assets/style.css", **{"accept-encoding": "br"})
    assert br.headers["etag"] == "W/" + first.headers["etag"]
    assert get(spa_server, "/assets/style.css", **{"if-none-match": br.headers["etag"]}).status_code == 304


def test_compression_follows_cloudfront(spa_server):
    raw = httpx.get(spa_server.url + "/assets/index-BxYz12_a.js", headers={"accept-encoding": "gzip, br"})
    assert raw.headers["content-encoding"] == "br" and raw.headers["vary"] == "Accept-Encoding"  # br preferred
    with httpx.stream("GET", spa_server.url + "/assets/index-BxYz12_a.js", headers={"accept-encoding": "gzip"}) as r:
        body = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip" and gzip.decompress(body).decode() == JS
    with httpx.stream("GET", spa_server.url + "/assets/index-BxYz12_a.js", headers={"accept-encoding": "br"}) as r:
        assert brotli.decompress(b"".join(r.iter_raw())).decode() == JS
    assert "content-encoding" not in get(spa_server, "/tiny.txt", **{"accept-encoding": "br"}).headers
    assert get(spa_server, "/edge.txt", **{"accept-encoding": "br"}).headers["content-encoding"] == "br"
    assert "content-encoding" not in get(spa_server, "/logo.png", **{"accept-encoding": "br"}).headers
    assert "content-encoding" not in get(spa_server, "/edge.txt", **{"accept-encoding": "br;q=0"}).headers


def test_range_requests(spa_server):
    part = get(spa_server, "/logo.png", range="bytes=8-11")
    assert part.status_code == 206 and part.content == bytes([0, 1, 2, 3])
    assert part.headers["content-range"] == f"bytes 8-11/{8 + 256 * 8}"
    assert get(spa_server, "/logo.png", range="bytes=-4").content == bytes([252, 253, 254, 255])
    assert get(spa_server, "/logo.png", range="bytes=100000-").status_code == 416
    assert get(spa_server, "/logo.png", range="bytes=0-1,4-5").status_code == 200  # several ranges: whole, as S3
    text = get(spa_server, "/edge.txt", range="bytes=0-9", **{"accept-encoding": "gzip, br"})
    assert text.status_code == 206 and text.content == b"y" * 10 and "content-encoding" not in text.headers
    etag = get(spa_server, "/logo.png").headers["etag"]
    assert get(spa_server, "/logo.png", range="bytes=0-0", **{"if-range": etag}).status_code == 206
    assert get(spa_server, "/logo.png", range="bytes=0-0", **{"if-range": '"old"'}).status_code == 200


def test_spa_fallback_only_for_extension_less_paths(spa_server):
    deep = get(spa_server, "/projects/42/settings", **{"accept-encoding": "identity"})
    assert deep.status_code == 200 and deep.text == INDEX
    missing = get(spa_server, "/assets/missing-chunk.js")
    assert missing.status_code == 404 and "404" in missing.text


def test_plain_site_under_a_prefix_has_a_404_page(plain_server):
    assert get(plain_server, "/app/", **{"accept-encoding": "identity"}).text == INDEX
    assert get(plain_server, "/app/assets/style.css").status_code == 200
    gone = get(plain_server, "/app/nowhere")
    assert gone.status_code == 404 and gone.text == "<h1>custom not found</h1>"
    assert get(plain_server, "/assets/style.css").status_code == 404  # outside the prefix: the API's 404
    assert get(plain_server, "/app/strato-config.json").json()["stage"] == "dev"


def test_the_http_api_wins_where_a_route_matches(spa_server):
    assert get(spa_server, "/api/hello").json() == {"hello": "api"}
    posted = httpx.post(spa_server.url + "/login")
    assert posted.json() == {"posted": True}
    # GET on a path only POST routes match is the API's 405, as CloudFront would send it to the API origin
    assert get(spa_server, "/login").status_code == 405
    assert httpx.put(spa_server.url + "/somewhere").status_code == 405  # a site serves GET and HEAD


def test_head_has_headers_and_no_body(spa_server):
    head = httpx.head(spa_server.url + "/assets/style.css")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


def test_runtime_configuration_and_its_module(spa_server):
    config = get(spa_server, "/strato-config.json").json()
    host = spa_server.url.removeprefix("http://")
    assert config["httpApiUrl"] == spa_server.url and config["stage"] == "dev" and config["region"]
    assert config["webSocketUrls"] == {"live": f"ws://{host}/ws/live"}
    pool = config["userPools"]["users"]
    assert config["userPoolId"] == pool["id"] and config["userPoolClientId"] == pool["clientId"] and pool["id"]
    module = get(spa_server, "/strato-config.js")
    assert module.headers["content-type"].startswith("text/javascript")
    assert '"/strato-config.json"' in module.text and "export default config" in module.text


def test_files_changed_on_disk_are_served_fresh(tmp_path):
    spec = write_site(tmp_path)
    server = start_dev_server(str(spec), tmp_path / "data")
    try:
        before = get(server, "/tiny.txt")
        (tmp_path / "dist" / "tiny.txt").write_text("rebuilt")
        after = get(server, "/tiny.txt", **{"if-none-match": before.headers["etag"]})
        assert after.status_code == 200 and after.text == "rebuilt" and after.headers["etag"] != before.headers["etag"]
    finally:
        stop(server.proc)


def raw_get(url: str, target: bytes) -> tuple[int, bytes]:
    """One request with the target sent byte for byte (clients normalise `..` and backslashes)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


@pytest.mark.parametrize(
    "target",
    [
        b"/../site_app.py",
        b"/%2e%2e/site_app.py",
        b"/assets/%2E%2E/%2e%2e/site_app.py",
        b"/..%2fsite_app.py",
        b"/..%5csite_app.py",
        b"/assets\\..\\..\\site_app.py",
        b"/%252e%252e/site_app.py",
        b"/index.html%00.png",
    ],
)
def test_traversal_over_the_wire_never_leaves_the_directory(spa_server, target):
    status, data = raw_get(spa_server.url, target)
    assert b"strato.App" not in data and status in (200, 400, 404)
    if status == 200:
        assert data.endswith(INDEX.encode())  # at most the SPA's own page


def test_build_runs_before_serving(tmp_path):
    spec = tmp_path / "built_app.py"
    spec.write_text(
        textwrap.dedent(
            """
            import strato
            app = strato.App("built")
            site = app.site("web", directory="out", build="mkdir -p out && echo built > out/index.html")
            """
        )
    )
    server = start_dev_server(str(spec), tmp_path / "data")
    try:
        assert get(server, "/").text == "built\n"
    finally:
        stop(server.proc)


def test_requests_and_bytes_are_counted_for_strato_cost(tmp_path):
    from strato import cost
    from strato.core.usage import read

    server = start_dev_server(str(write_site(tmp_path)), tmp_path / "data")
    try:
        sizes = [len(get(server, "/assets/style.css", **{"accept-encoding": "identity"}).content) for _ in range(5)]
        get(server, "/deep/link", **{"accept-encoding": "identity"})
        deadline = time.monotonic() + 30
        while (counted := read(tmp_path / "data")).get(("cloudfront", "https_requests"), 0) < 6:
            assert time.monotonic() < deadline, counted
            time.sleep(0.1)
    finally:
        stop(server.proc)
    counted = read(tmp_path / "data")
    assert counted[("cloudfront", "https_requests")] == 6
    assert counted[("cloudfront", "data_out_gb")] * 1024**3 == pytest.approx(sum(sizes) + len(INDEX))
    lines = {(line.service, line.unit): line for line in cost.estimate(tmp_path / "data")}
    assert lines[("cloudfront", "https_requests")].monthly == pytest.approx(6 * 0.01 / 10_000)
