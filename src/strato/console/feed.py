"""Live updates: the data directory's files change when anything commits (this process, ``strato
worker``, a script), so the OS's file notifications (inotify, through ``watchfiles``) say what changed
without a loop querying SQLite. Each batch of changes becomes one Server-Sent Event naming the areas
that changed ("queues", "tables", ...); the page re-reads what it shows when its area is named.

A file event is not always a commit: a connection opening, a checkpoint or a reader's WAL bookkeeping
touch the files too (the console's own reads among them, which would otherwise echo back). So for a
database the watcher asks SQLite whether another connection committed since it last asked (``PRAGMA
data_version``: a counter in memory, no table read), on each event only.

One watcher per server, started by the first page and stopped when the last one leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

log = logging.getLogger("strato.console")
HEARTBEAT_S = 15.0  # an SSE comment this often, so a proxy or the browser does not drop an idle stream
STOP_CHECK_S = 0.25  # how soon a stream notices the server is shutting down
DEBOUNCE_MS = 150
# what a change to a file of the data directory means to the page (by the file name's start)
AREAS = (
    ("messaging.", ("queues", "topics", "overview")),
    ("tables.", ("tables", "websockets", "overview")),
    ("buckets.", ("buckets",)),
    ("metrics.", ("metrics", "alarms")),
    ("auth.", ("users",)),
    ("workflows.", ("workflows",)),
    ("usage.", ("cost",)),
    ("traces.", ("traces", "requests", "topics")),
)


def areas_of(path: str, data_dir: Path) -> tuple[str | None, set[str]]:
    """(the database file a change is to, or None for another file; the areas it concerns)."""
    try:
        relative = Path(path).relative_to(data_dir)
    except ValueError:
        return None, set()
    name = relative.parts[0] if relative.parts else ""
    if name.endswith("-shm"):  # readers touch it: never a change of data
        return None, set()
    for start, areas in AREAS:
        if name.startswith(start):
            return name.removesuffix("-wal").removesuffix("-journal"), set(areas)
    return None, set()


class Commits:
    """Whether a database has a commit this reader has not seen (SQLite's ``data_version``)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.readers: dict[str, sqlite3.Connection] = {}
        self.seen: dict[str, int] = {}

    def changed(self, name: str) -> bool:
        try:
            reader = self.readers.get(name)
            if reader is None:
                path = self.data_dir / name
                if not path.exists():
                    return False
                reader = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
                self.readers[name] = reader  # one watcher asks at a time, from a worker thread
            version = reader.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return True  # cannot tell: say so, the page re-reads
        before = self.seen.get(name)
        self.seen[name] = version
        return before is None or before != version

    def areas(self, touched: dict[str, set[str]]) -> set[str]:
        """The areas of the touched databases that really have a new commit."""
        return set().union(*(areas for name, areas in touched.items() if self.changed(name)))

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
        self.readers.clear()


class ChangeFeed:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.listeners: set[asyncio.Queue[set[str]]] = set()
        self.task: asyncio.Task[None] | None = None
        self.stop: asyncio.Event | None = None

    def publish(self, areas: set[str]) -> None:
        """Tell every page now (also for changes the console itself made, ahead of the file event)."""
        for listener in list(self.listeners):
            with contextlib.suppress(asyncio.QueueFull):
                listener.put_nowait(areas)

    async def _watch(self, stop: asyncio.Event) -> None:
        import watchfiles

        self.data_dir.mkdir(parents=True, exist_ok=True)
        commits = Commits(self.data_dir)
        known = {start + suffix for start, _ in AREAS for suffix in ("db", "sqlite")}
        await asyncio.to_thread(lambda: [commits.changed(n) for n in known])  # now: what the page reads first
        try:
            async for changes in watchfiles.awatch(
                self.data_dir,
                stop_event=stop,
                debounce=DEBOUNCE_MS,
                step=50,
                recursive=False,
                ignore_permission_denied=True,
            ):
                touched: dict[str, set[str]] = {}
                for _, path in changes:
                    name, areas = areas_of(path, self.data_dir)
                    if name is not None:
                        touched.setdefault(name, set()).update(areas)
                if fresh := await asyncio.to_thread(commits.areas, touched):
                    self.publish(fresh)
        except Exception:
            log.exception("console: watching %s stopped", self.data_dir)
        finally:
            commits.close()

    def join(self) -> asyncio.Queue[set[str]]:
        listener: asyncio.Queue[set[str]] = asyncio.Queue(maxsize=64)
        self.listeners.add(listener)
        if self.task is None or self.task.done():
            self.stop = asyncio.Event()
            self.task = asyncio.create_task(self._watch(self.stop))
        return listener

    def leave(self, listener: asyncio.Queue[set[str]]) -> None:
        self.listeners.discard(listener)
        if not self.listeners and self.stop is not None:
            self.stop.set()  # the watcher ends at its next step
            self.task = None

    async def events(self, listener: asyncio.Queue[set[str]], stopping: Callable[[], bool]) -> AsyncIterator[bytes]:
        try:
            yield b"event: hello\ndata: {}\n\n"
            idle = 0.0
            while not stopping():
                try:
                    areas = await asyncio.wait_for(listener.get(), STOP_CHECK_S)
                except TimeoutError:
                    idle += STOP_CHECK_S
                    if idle >= HEARTBEAT_S:
                        idle = 0.0
                        yield b": heartbeat\n\n"
                    continue
                idle = 0.0
                while not listener.empty():  # coalesce what piled up while the page was reading
                    areas |= listener.get_nowait()
                yield f"event: change\ndata: {json.dumps(sorted(areas))}\n\n".encode()
        finally:
            self.leave(listener)


def feed_of(request: Request) -> ChangeFeed:
    state = request.app.state
    feed: ChangeFeed | None = getattr(state, "console_feed", None)
    if feed is None:
        feed = state.console_feed = ChangeFeed(request.app.state.app.config.data_dir)
    return feed


def shutdown_signal(request: Request) -> Callable[[], bool]:
    """Whether the server began a graceful shutdown: uvicorn then turns the connection's keep-alive off and
    waits for the response in progress to end, so a stream that never ends would hold the server up. The
    ASGI ``receive`` is uvicorn's request cycle's method; without one (another server), never."""
    cycle = getattr(request.receive, "__self__", None)
    if cycle is None or not getattr(cycle, "keep_alive", False):
        return lambda: False
    return lambda: not cycle.keep_alive


async def events(request: Request) -> Any:
    feed = feed_of(request)
    listener = feed.join()
    return StreamingResponse(
        feed.events(listener, shutdown_signal(request)),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


ROUTES = [Route("/_strato/console/api/events", events)]
