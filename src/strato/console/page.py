"""The console's page and its assets (built from ``console-ui/`` by ``scripts/vendor-console`` into
``ui/``: served from the package, never from a CDN).

The page and its assets are public as far as the guard goes (a browser opening a URL cannot send a
header), and the page carries the data dir's secret in a ``<meta>`` the script reads and sends on
every API call. That is safe because only this origin can read the page: the Host check refuses a
DNS-rebound name, no CORS header lets another origin (another local port included) read a response,
and ``frame-ancestors 'none'`` keeps another site from framing it. The API refuses all but JSON bodies
with the header, so a cross-site form cannot act either.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..runtime.devsecret import HEADER, internal_secret

UI = Path(__file__).parent / "ui"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".woff2": "font/woff2"}
SECURITY = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _manifest() -> dict[str, str]:
    """The built entry's script and stylesheet (Vite names them by content hash)."""
    manifest = UI / "manifest.json"
    if not manifest.is_file():
        return {}
    chunks: dict[str, dict] = json.loads(manifest.read_text())
    entry = next((v for v in chunks.values() if v.get("isEntry")), {})
    return {"js": entry.get("file", ""), "css": (entry.get("css") or [""])[0]}


async def console_page(request: Request) -> Response:
    app = request.app.state.app
    built = _manifest()
    if not built.get("js"):
        return JSONResponse({"message": "the console is not built (run scripts/vendor-console)"}, 404)
    secret = internal_secret(app.config.data_dir)
    css = (
        f'<link rel="stylesheet" href="/_strato/console/assets/{built["css"].split("/")[-1]}">' if built["css"] else ""
    )
    page = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="strato-secret" content="{escape(secret)}">
  <meta name="strato-secret-header" content="{HEADER}">
  <meta name="strato-app" content="{escape(app.name)}">
  <title>{escape(app.name)} - strato console</title>
  <link rel="icon" href="data:,">
  {css}
</head>
<body>
  <div id="boot" class="shell"><nav><h1>strato <span class="muted">console</span></h1>
    <div class="app-name">{escape(app.name)}</div></nav><main><p class="muted">Loading…</p></main></div>
  <div id="app"></div>
  <script type="module" src="/_strato/console/assets/{built["js"].split("/")[-1]}"></script>
</body>
</html>
"""
    return HTMLResponse(page, headers=SECURITY)


async def console_asset(request: Request) -> Response:
    name = request.path_params["name"]
    path = UI / "assets" / name
    media = TYPES.get(Path(name).suffix)
    if media is None or "/" in name or name.startswith(".") or not path.is_file():
        return JSONResponse({"message": f"no such asset {name!r}"}, 404)
    # names carry a content hash: a new build is a new name, so a long cache is right
    return FileResponse(
        path,
        media_type=media,
        headers={"cache-control": "max-age=31536000, immutable", "x-content-type-options": "nosniff"},
    )


ROUTES = [
    Route("/_strato/console", console_page),
    Route("/_strato/console/assets/{name}", console_asset),
]
