"""The runtime configuration a front end reads (``/strato-config.json``) and the ES module that reads
it. Built from the app under ``strato dev`` and from the stack's outputs on deploy, so one front-end
build runs unchanged against every stage."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..core.hints import Any


def meeting_clients(resources: Iterable[Any], *, deployed: bool) -> dict[str, dict[str, str]]:
    """Per meetings resource, the browser client its calls need and their media region: Chime's once
    deployed (or when the resource runs on the aws provider), strato's signalling client locally."""
    return {
        m.name: {"client": "chime" if deployed or m.provider == "aws" else "strato", "mediaRegion": m.media_region}
        for m in resources
    }


def settings(
    *,
    stage: str,
    region: str,
    http_url: str | None,
    websockets: dict[str, str],
    pools: dict[str, dict[str, str]],
    meetings: dict[str, dict[str, str]] | None = None,
    token_url: str | None = None,
) -> dict[str, Any]:
    """``userPoolId`` / ``userPoolClientId`` name the app's pool when it has exactly one; ``userPools``
    names every pool; ``meetings`` says per meetings resource which browser client joins its calls
    (``strato``: the local signalling client, ``chime``: amazon-chime-sdk-js), as one build serves both.
    A site behind sign-in also has ``idTokenUrl``, where its script gets the signed-in user's ID token
    (``idToken()`` of the module below)."""
    only = next(iter(pools.values())) if len(pools) == 1 else {}
    gated = {"idTokenUrl": token_url} if token_url else {}
    return {
        **gated,
        "stage": stage,
        "region": region,
        "httpApiUrl": http_url,
        "webSocketUrls": dict(sorted(websockets.items())),
        "userPoolId": only.get("id"),
        "userPoolClientId": only.get("clientId"),
        "userPools": dict(sorted(pools.items())),
        "meetings": dict(sorted((meetings or {}).items())),
    }


def module(config_path: str) -> str:
    """``import config from "/strato-config.js"`` (top-level await), or ``loadConfig()`` to refetch."""
    url = json.dumps(config_path)
    return f"""// strato: the runtime configuration of this front end (generated; served by strato)
let cached = null;
export function loadConfig({{ refresh = false }} = {{}}) {{
  if (cached === null || refresh) {{
    cached = fetch({url}, {{ cache: "no-cache", credentials: "same-origin" }}).then((r) => {{
      if (!r.ok) throw new Error(`strato: ${{r.status}} fetching {config_path}`);
      return r.json();
    }});
  }}
  return cached;
}}
// the signed-in user's ID token (a site with auth=): for APIs that want one, e.g. a WebSocket's ?token=.
// Asked for each time (it expires; the site refreshes it); a signed-out page is sent to sign in.
export async function idToken() {{
  const {{ idTokenUrl }} = await loadConfig();
  if (!idTokenUrl) return null;
  const answer = await fetch(idTokenUrl, {{
    headers: {{ "X-Strato-Token": "1" }},
    credentials: "same-origin",
    cache: "no-store",
  }});
  const body = (answer.headers.get("content-type") || "").startsWith("application/json") ? await answer.json() : {{}};
  if (answer.ok && body.idToken) return body.idToken;
  if (answer.status === 401 || answer.ok) {{ // signed out (or sent to the sign-in page by a failed refresh)
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`${{body.signIn || idTokenUrl.replace(/_strato-token$/, "_strato-signin")}}?next=${{next}}`);
  }}
  throw new Error(`strato: no ID token (${{answer.status}} from ${{idTokenUrl}})`);
}}
const config = await loadConfig();
export default config;
"""
