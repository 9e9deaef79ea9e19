"""The request log and the trace view, read from the data directory's span store (``strato.trace``):
entries (the first span of each recent trace) newest first, and one trace's spans as a tree for the
waterfall. The page is told of new spans by the change feed (``traces.db`` changed)."""

from __future__ import annotations

import re
import threading
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .web import BadRequest, blocking, endpoint, query_int

TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_lock = threading.Lock()


def store_of(request: Request) -> Any:
    """The server's span store (``state.spans``), else (tracing off in this process: ``STRATO_TRACE=0``,
    while a worker may still trace) a reader of ``traces.db`` opened once, which starts no thread."""
    state = request.app.state
    if (serving := getattr(state, "spans", None)) is not None:
        return serving
    with _lock:
        store = getattr(state, "console_spans", None)
        if store is None:
            from ..trace import SpanStore

            store = state.console_spans = SpanStore(state.app.config.data_dir)
    return store


def entries(store: Any, limit: int, before: int | None) -> dict[str, Any]:
    """Recent traces by their entry span: spans are read newest first in pages and grouped by trace, so
    a trace of many hops is one line; a trace whose entry fell out of the ring shows its oldest span."""
    traces: dict[str, dict[str, Any]] = {}
    cursor = before
    scanned = 0
    while len(traces) < limit + 1 and scanned < 20 * limit + 1000:
        page = store.recent(limit=500, before=cursor)
        if not page:
            break
        for span in page:
            found = traces.get(span.trace_id)
            if found is None:
                if len(traces) > limit:
                    break
                found = traces[span.trace_id] = {
                    "trace_id": span.trace_id,
                    "spans": 0,
                    "errors": 0,
                    "entry": None,
                    "seq": span.seq,
                    "end": span.start + span.duration,
                }
            found["spans"] += 1
            found["errors"] += span.outcome != "ok"
            found["end"] = max(found["end"], span.start + span.duration)
            entry = found["entry"]  # the root span (no parent) if kept, else the earliest
            if entry is None or (span.parent_id is None, -span.start) > (entry["parent_id"] is None, -entry["start"]):
                found["entry"] = span.as_dict()
            found["oldest_seq"] = span.seq
        scanned += len(page)
        cursor = page[-1].seq
    rows = list(traces.values())
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        row["duration"] = row.pop("end") - row["entry"]["start"]
    return {"traces": rows, "next": rows[-1]["oldest_seq"] if more and rows else None}


@endpoint
async def requests(request: Request) -> Any:
    store = store_of(request)
    raw = request.query_params.get("before")
    if raw is not None and not raw.isdigit():
        raise BadRequest("before must be a span position (seq)")
    return await blocking(entries, store, query_int(request, "limit", 50, 1, 500), int(raw) if raw else None)


def tree(spans: list[Any]) -> list[dict[str, Any]]:
    """Spans in waterfall order: each after its parent, children by start; ``depth`` for indenting."""
    by_id = {s.span_id: s for s in spans}
    children: dict[str | None, list[Any]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in by_id else None  # an upstream or lost parent: a root
        children.setdefault(parent, []).append(span)
    out: list[dict[str, Any]] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: (s.start, s.seq)):
            out.append({**span.as_dict(), "depth": depth})
            if span.span_id not in seen:
                seen.add(span.span_id)
                walk(span.span_id, depth + 1)

    seen: set[str] = set()
    walk(None, 0)
    return out


@endpoint
async def trace(request: Request) -> Any:
    trace_id = request.path_params["trace_id"]
    if not TRACE_ID.match(trace_id):
        raise BadRequest("a trace id looks like 1-5759e988-bd862e3fe1be46a994272793")
    store = store_of(request)
    spans = await blocking(store.trace, trace_id)
    if not spans:
        raise BadRequest(f"no spans of trace {trace_id} are kept (the ring holds the newest {store.capacity})", 404)
    from .logs import install

    start = min(s.start for s in spans)
    end = max(s.start + s.duration for s in spans)
    kept = install()
    ordered = tree(spans)
    for span in ordered:
        span["logs"] = kept.of(span["span_id"])
    return {"trace_id": trace_id, "start": start, "duration": end - start, "spans": ordered}


ROUTES = [
    Route("/_strato/console/api/requests", requests),
    Route("/_strato/console/api/traces/{trace_id}", trace),
]
