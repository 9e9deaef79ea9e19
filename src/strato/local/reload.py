"""``strato dev --reload``: new handler code in the running process, within a few hundred ms of a save.

A restart would drop every WebSocket; instead the app's modules are imported again into a fresh App,
which is swapped in (``build.Live``) while the gateways and their connections stay: the next event on an
old connection runs the new code, as API Gateway keeps connections across a Lambda deploy. Requests in
flight finish on the code they started with. A reload that fails keeps the last good build serving and
says ``file:line: message`` once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from .build import Build, Live
from .ws_gateway import Binding, WsGateway, gateway_for, pinned

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..app import App

log = logging.getLogger("strato.dev")

DEBOUNCE_MS = 50  # watchfiles' default (1600 ms) would be most of the time a reload may take
STEP_MS = 20
IDLE_MS = 200  # the watcher reports that it is watching after this long without a change
GRACE_S = 30.0  # batches the old worker has in hand get this long to finish


def app_directory(spec: str) -> Path:
    """The folder of the app's module, for ``path/app.py[:attr]`` and ``module:attr`` (already imported)."""
    target = spec if len(spec) > 1 and spec[1] == ":" else spec.partition(":")[0]
    if target.endswith(".py") or "/" in target or Path(target).is_file():
        return Path(target).resolve().parent
    module = sys.modules.get(target)
    file = getattr(module, "__file__", None)
    return Path(file).resolve().parent if file else Path.cwd().resolve()


class Watched:
    """Which changes reload: ``*.py`` under the app's folder, outside the data dir, ``__pycache__``,
    dot folders and installed packages."""

    def __init__(self, root: Path, data_dir: Path) -> None:
        self.root = str(root) + os.sep
        self.data_dir = str(data_dir.resolve()) + os.sep

    def holds(self, path: str) -> bool:
        if not path.startswith(self.root) or path.startswith(self.data_dir):
            return False
        parts = path[len(self.root) :].split(os.sep)
        return not any(p.startswith(".") or p in ("__pycache__", "site-packages") for p in parts)

    def __call__(self, _change: Any, path: str) -> bool:
        return path.endswith(".py") and self.holds(path)


def forget_bytecode(changed: set[str]) -> None:
    """Drop the cached bytecode of the saved files: a save within the second of the previous one, at the
    same size, would otherwise load the stale ``.pyc`` (it records the source's mtime in whole seconds)."""
    import importlib
    import importlib.util

    for file in changed:
        with contextlib.suppress(OSError, ValueError):
            os.remove(importlib.util.cache_from_source(file))
    importlib.invalidate_caches()  # and files new in the folder are importable


def describe(exc: BaseException, root: Path) -> str:
    """``file:line: Kind: message`` for a failed reload: a SyntaxError's own place, otherwise the deepest
    frame in the app's folder along the exception and its causes."""
    inside = str(root) + os.sep
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for error in chain:
        if isinstance(error, SyntaxError) and error.filename:
            return f"{_shown(error.filename)}:{error.lineno}: {type(error).__name__}: {error.msg}"
    message = str(exc) or type(exc).__name__
    for error in chain:
        frames = [
            f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename).startswith(inside)
        ]
        if frames:
            return f"{_shown(frames[-1].filename)}:{frames[-1].lineno}: {type(exc).__name__}: {message}"
    return f"{type(exc).__name__}: {message}"


def _shown(filename: str) -> str:
    """A path as a person types it: relative to the working directory when inside it."""
    path = os.path.abspath(filename)
    with contextlib.suppress(ValueError):
        relative = os.path.relpath(path)
        if not relative.startswith(".."):
            return relative
    return path


class Reloader:
    """Watches the app's folder and swaps a new build in on every save that loads."""

    def __init__(
        self,
        spec: str,
        live: Live,
        gateways: dict[str, WsGateway],
        on_swap: Callable[[App], None],
        max_body: int,
    ) -> None:
        self.spec = spec
        self.live = live
        self.gateways = gateways  # shared with the server: mutated in place
        self.on_swap = on_swap
        self.max_body = max_body
        self.root = app_directory(spec)
        self.data_dir = live.build.app.config.data_dir
        self.watched = Watched(self.root, self.data_dir)
        self.last_error: str | None = None
        self.attempts = 0  # saves acted on, loaded or not
        self.reloads = 0
        self.watching = asyncio.Event()
        self._stop = asyncio.Event()
        self._handoff = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strato-reload")  # in save order
        self._closers: set[asyncio.Future] = set()

    # -- watching -------------------------------------------------------------------------------
    async def start(self) -> asyncio.Task:
        """The watcher, running: returns once it watches (a save from then on reloads)."""
        task = asyncio.create_task(self.run())
        watching = asyncio.ensure_future(self.watching.wait())
        await asyncio.wait([task, watching], return_when=asyncio.FIRST_COMPLETED)
        watching.cancel()
        return task

    async def run(self) -> None:
        import watchfiles

        changes: set[Any]
        async for changes in watchfiles.awatch(
            self.root,
            watch_filter=self.watched,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            rust_timeout=IDLE_MS,
            yield_on_timeout=True,
            stop_event=self._stop,
        ):
            self.watching.set()
            if changes:
                try:
                    await self.reload({path for _, path in changes})
                except Exception:  # the watcher must outlive any one reload
                    log.exception("reload failed")

    async def stop(self) -> None:
        self._stop.set()
        await run_in_threadpool(self._handoff.shutdown, True)

    # -- one reload -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """For ``/_strato/health``: how many saves were acted on, how many loaded, the current error."""
        return {"attempts": self.attempts, "reloads": self.reloads, "error": self.last_error}

    async def reload(self, changed: set[str]) -> bool:
        """Load the app again and serve it; on failure keep serving the last good build."""
        started = time.perf_counter()
        try:
            new = await run_in_threadpool(self._load, changed)
        except (Exception, SystemExit) as exc:  # whatever the module did at import
            message = describe(exc, self.root)
            if message != self.last_error:
                log.error("reload failed, still serving the previous code: %s", message)
                self.last_error = message
            self.attempts += 1
            return False
        self._swap(new)
        self.reloads += 1
        self.attempts += 1
        self.last_error = None
        names = ", ".join(sorted(os.path.relpath(p, self.root) for p in changed)) or self.spec
        log.info("reloaded (%s) in %.0f ms", names, (time.perf_counter() - started) * 1000)
        return True

    def _load(self, changed: set[str]) -> Build:
        """In a thread: import the app afresh, create its new tables, build what serves it."""
        from ..loader import load_app

        forget_bytecode(changed)
        app = load_app(self.spec, fresh=True)  # the modules of the app's folder run again
        previous = self.live.build
        shared = app.registry.adopt(previous.app.registry)  # the same open files, not a new set per save
        try:
            app.ensure()
            for ws in app.of_kind("websocket"):  # a new API starts with no connection of an earlier run
                if ws.provider == "local" and ws.name not in self.gateways:
                    ws.registry.forget_all()
            build = Build(app, self.max_body, previous.background, owned=True)
        except BaseException:
            if not shared:  # what it shares, the build being served still uses
                app.close()
            raise
        if shared:
            previous.owned = False  # closing it must not close what the new App now holds
        return build

    def _swap(self, new: Build) -> None:
        """On the event loop, in one step: WebSocket APIs follow the new build, then it goes live."""
        from ..websocket.local import unregister_gateway

        old = self.live.build
        for name in [n for n in self.gateways if n not in new.websockets]:
            gateway = self.gateways.pop(name)
            unregister_gateway(self.data_dir, name)
            old.enter()  # its connections say goodbye on the code they ran
            gateway.hold = pinned(gateway.binding)
            closer = asyncio.ensure_future(self._going_away(gateway, old))
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)
        for name, binding in new.websockets.items():
            if name in self.gateways:
                self.gateways[name].binding = binding
            else:
                self.gateways[name] = _added(binding, self.live)
        self.live.swap(new)
        self.on_swap(new.app)
        self._handoff.submit(_hand_over, old, new)

    async def _going_away(self, gateway: WsGateway, old: Build) -> None:
        try:
            await gateway.close_all(1001, "Going away")
        finally:
            old.leave()


def _added(binding: Binding, live: Live) -> WsGateway:
    gateway = gateway_for(binding.app, binding.ws, partial(live.hold_ws, binding.ws.name))
    gateway.binding = binding
    return gateway


def _hand_over(old: Build, new: Build) -> None:
    """In save order: the old worker finishes its batches and stops, then the new one starts (never
    both); the old build closes once nothing holds it."""
    import threading

    try:
        old.stop_worker(GRACE_S)
    finally:
        new.start_worker()
    threading.Thread(target=old.close, args=(GRACE_S,), name="strato-retire", daemon=True).start()
