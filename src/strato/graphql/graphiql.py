"""GraphiQL under ``strato dev``: a page of strato's own and the files it loads (React, ReactDOM, GraphiQL
and its explorer plugin, vendored from npm by ``scripts/vendor-graphiql``), served under the GraphQL
path: a developer offline gets a working page, and nothing is fetched from a CDN.

The page's scripts are its own files (no inline script or style), so a Content-Security-Policy of
``'self'`` allows it; each vendored file carries its SRI hash, which the browser checks.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..http.response import Response

ASSETS = Path(__file__).parent / "graphiql_ui"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# vendored files never change under a URL: a new version is a new ?v= (see asset_url)
_IMMUTABLE = "public, max-age=31536000, immutable"

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} - GraphiQL</title>
{styles}
</head>
<body>
  <div id="graphiql" data-url="{url}" data-subscription-url="{subscription_url}">Loading...</div>
{scripts}
</body>
</html>
"""

# strato's own files, next to the vendored ones: the page's layout and the script that mounts GraphiQL
OWN = {
    "page.css": "body { margin: 0; overflow: hidden; } #graphiql { height: 100vh; display: flex; }\n",
    "init.js": """(function () {
  const root = document.getElementById("graphiql");
  const search = new URLSearchParams(window.location.search);
  const fetcher = GraphiQL.createFetcher({
    url: new URL(root.dataset.url, window.location.href).toString(),
    subscriptionUrl: root.dataset.subscriptionUrl || undefined,
  });
  function keep(name, value) {  // the query in the address, to share it
    if (value) search.set(name, value); else search.delete(name);
    history.replaceState(null, "", "?" + search.toString());
  }
  function Page() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultQuery: search.get("q") || "# Ctrl-Enter runs the query\\n{\\n  __typename\\n}\\n",
      variables: search.get("variables") || undefined,
      onEditQuery: function (value) { keep("q", value); },
      onEditVariables: function (value) { keep("variables", value); },
      defaultEditorToolsVisibility: true,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }
  ReactDOM.createRoot(root).render(React.createElement(Page));
})();
""",
}


@cache
def vendored() -> dict[str, dict[str, str]]:
    """assets.json: each vendored file the page loads (in order) -> its npm source and SRI hash."""
    try:
        assets: dict[str, dict[str, str]] = json.loads((ASSETS / "assets.json").read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{ASSETS / 'assets.json'} is missing: run scripts/vendor-graphiql") from None
    return assets


def page(base: str, title: str, url: str, subscription_url: str | None) -> str:
    """The HTML of the page at ``base`` (``/graphql/graphiql``), querying ``url``."""
    styles, scripts = [], []
    for name, meta in [*vendored().items(), *((name, None) for name in OWN)]:
        src = escape(asset_url(base, name, meta))
        sri = f' integrity="{escape(meta["integrity"])}"' if meta else ""
        if name.endswith(".css"):
            styles.append(f'  <link rel="stylesheet" href="{src}"{sri}>')
        else:
            scripts.append(f'  <script src="{src}"{sri}></script>')
    return PAGE.format(
        title=escape(title),
        styles="\n".join(styles),
        scripts="\n".join(scripts),
        url=escape(url),
        subscription_url=escape(subscription_url or ""),
    )


def asset_url(base: str, name: str, meta: dict[str, str] | None) -> str:
    """Where the page loads ``name``; a vendored file's URL carries its package's version (``?v=3.8.3``),
    so a new version is a new URL and browsers may cache each one for a year."""
    if meta is None:
        return f"{base}/assets/{name}"
    version = meta["source"].rsplit("@", 1)[1].split("/", 1)[0]  # "@graphiql/plugin-explorer@1.0.2/dist/..."
    return f"{base}/assets/{name}?v={version}"


def asset(name: str) -> Response:
    """A file the page loads: a vendored one (cached for a year) or strato's own (revalidated)."""
    from ..http.response import Response

    media = _TYPES.get(Path(name).suffix)
    if name in OWN and media:
        return Response(OWN[name], 200, {"cache-control": "no-cache"}, content_type=media)
    if name not in vendored() or media is None:
        message = f"no GraphiQL asset {name!r}; the page loads {', '.join([*vendored(), *OWN])}"
        return Response({"message": message}, 404)
    return Response(_read(name), 200, {"cache-control": _IMMUTABLE}, content_type=media)


@cache
def _read(name: str) -> str:
    # as text: the gateway sends it as is (bytes would travel base64-encoded); read_text would turn the
    # file's CRLFs into LFs and break its SRI hash
    return (ASSETS / name).read_bytes().decode("utf-8")
