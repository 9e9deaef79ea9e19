"""One generation of the code ``strato dev`` serves, and the one reference that says which is live.

A request (an HTTP request, a WebSocket event) reads the live build once, when it starts, and holds it
until it ends. ``strato dev --reload`` swaps in a new build; the old one keeps running what it holds
and is closed (its worker stopped, its App closed) only once nothing holds it any more: no request is
dropped and none sees a closed store.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ..dispatch.websocket import WebSocketDispatcher
from .http_gateway import Gateway
from .ws_gateway import Binding

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..app import App

log = logging.getLogger("strato.dev")


class Build:
    """An App with what serves it: the HTTP gateway, a binding per local WebSocket API, the worker.
    ``owned``: the build loaded the App itself (a reload), so closing the build closes the App."""

    def __init__(self, app: App, max_body: int, background: bool, owned: bool = False) -> None:
        self.app = app
        self.http = Gateway(app, max_body)
        self.websockets = {
            ws.name: Binding(app, ws, WebSocketDispatcher(ws))
            for ws in app.of_kind("websocket")
            if ws.provider == "local"
        }
        self.background = background
        self.owned = owned
        self.worker: Any = None
        self._lock = threading.Lock()  # the count of holders: taken on every request, never held long
        self._worker_lock = threading.Lock()
        self._held = 0
        self._retired = False
        self._idle = threading.Event()

    def enter(self) -> None:
        with self._lock:
            self._held += 1

    def leave(self) -> None:
        with self._lock:
            self._held -= 1
            if self._retired and self._held == 0:
                self._idle.set()

    def start_worker(self) -> None:
        """Start the background work (consumers, deliveries, schedules), unless already retired."""
        from .worker import Worker

        with self._worker_lock:
            if self.background and not self._retired and self.worker is None:
                self.worker = Worker(self.app).start()

    def retire(self) -> None:
        """No new request will hold this build; :meth:`close` waits for those that do."""
        with self._lock:
            self._retired = True
            if self._held == 0:
                self._idle.set()

    def stop_worker(self, grace: float) -> None:
        with self._worker_lock:
            worker, self.worker = self.worker, None
        if worker is not None and not worker.stop(grace):
            log.warning("the worker stopped with work in flight: it returns after its visibility timeout")

    def close(self, grace: float, wait: float | None = None) -> None:
        """Blocking: retire, stop the worker (batches in hand finish), wait until no request holds the
        build (up to ``wait`` seconds; None: as long as it takes), then release its threads and, if the
        build loaded its App, the App's stores."""
        self.retire()
        self.stop_worker(grace)
        self._idle.wait(wait)
        try:
            self.http.close()
            if self.owned:
                self.app.close()
        except Exception:
            log.exception("closing the previous build failed")


class Live:
    """The build new requests get. ``acquire`` is cheap (one lock), as it runs for every request."""

    def __init__(self, build: Build) -> None:
        self.build = build
        self._lock = threading.Lock()

    def acquire(self) -> Build:
        """The live build, held: the caller calls its ``leave()`` when done."""
        with self._lock:
            build = self.build
            build.enter()
        return build

    def hold_ws(self, name: str) -> tuple[Binding | None, Callable[[], None]]:
        """What a WebSocket event of API ``name`` runs on (None: the live build has no such API)."""
        build = self.acquire()
        return build.websockets.get(name), build.leave

    def swap(self, new: Build) -> Build:
        """Make ``new`` live; returns the previous build, retired (close it when convenient)."""
        with self._lock:
            old, self.build = self.build, new
        old.retire()
        return old
