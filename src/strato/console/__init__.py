"""The local console at ``/_strato/console`` under ``strato dev``: a page (``page``) over a JSON API
under ``/_strato/console/api/`` (one module per area) with live updates pushed by Server-Sent Events
(``feed``). Every API call needs the data dir's secret (the guard checks it); see docs/console.md."""

from __future__ import annotations

from typing import Any


def routes() -> list[Any]:
    """Starlette routes to mount in the dev server's internal app (imported when the server starts)."""
    from . import buckets, feed, identity, logs, messaging, observe, overview, page, realtime, tables, traces, workflows

    logs.install()  # the lines each hop logs, for the trace view

    found: list[Any] = []
    for module in (page, feed, overview, tables, buckets, messaging, realtime, observe, identity, workflows, traces):
        found += module.ROUTES
    return found
