"""The HTTP API's OpenAPI document and a Swagger UI page under ``strato dev``: ``/_strato/openapi.json``,
``/_strato/docs`` and its assets (vendored from npm by ``scripts/vendor-swagger-ui``: served from the
package, never fetched from a CDN).

They are public (no internal secret; the Host check still applies): they describe routes this server
serves to anyone who can reach it, and a browser opening the docs page cannot send the secret header.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request as StarletteRequest
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

ASSETS = Path(__file__).parent / "swagger_ui"
_ASSET_TYPES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} - API docs</title>
  <link rel="stylesheet" href="/_strato/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/_strato/docs/swagger-ui-bundle.js"></script>
  <script src="/_strato/docs/init.js"></script>
</body>
</html>
"""
# a script of its own (not inline) so a strict Content-Security-Policy of 'self' allows the page
INIT = """window.ui = SwaggerUIBundle({
  url: "/_strato/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true
});
"""


async def openapi_json(request: StarletteRequest) -> JSONResponse:
    from ..http.openapi import document

    app = request.app.state.app
    if app._http is None:
        return JSONResponse({"message": "this app declares no HTTP API"}, 404)
    return JSONResponse(document(app._http, app.name), headers={"cache-control": "no-cache"})


async def docs_page(request: StarletteRequest) -> HTMLResponse:
    from html import escape

    return HTMLResponse(PAGE.format(title=escape(request.app.state.app.name)), headers={"cache-control": "no-cache"})


async def docs_asset(request: StarletteRequest) -> Response:
    name = request.path_params["name"]
    if name == "init.js":
        return Response(INIT, media_type="text/javascript")
    media = _ASSET_TYPES.get(name)
    if media is None or not (ASSETS / name).is_file():
        return JSONResponse({"message": f"no such asset {name!r} (run scripts/vendor-swagger-ui?)"}, 404)
    return FileResponse(ASSETS / name, media_type=media, headers={"cache-control": "max-age=3600"})


ROUTES = [
    Route("/_strato/openapi.json", openapi_json),
    Route("/_strato/docs", docs_page),
    Route("/_strato/docs/{name}", docs_asset),
]
