"""``strato dev --reload`` for ``build=`` sites: a saved front-end source reruns the site's build.

Each site's project folder (the declaring file's) is watched minus the build's output directory,
``node_modules``, dot folders and the data dir; changes are debounced (an editor's save or a ``git
checkout`` is one build, not twenty). A build that succeeds is copied to a fresh snapshot under the data
dir and the site serves from it from the next request on; a build that fails is reported once (its
output's tail) and the last good snapshot keeps being served, whatever the failed build left in its
output directory. Only one build of a site runs at a time; changes made meanwhile build again after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from ..core.errors import StratoError
from ..site.build import run_build

if TYPE_CHECKING:
    from .site_server import SiteServer

log = logging.getLogger("strato.dev")

DEBOUNCE_MS = 300  # a build costs seconds: wait for the burst of writes a save or a checkout makes
_SKIPPED = frozenset({"node_modules", "__pycache__", "site-packages"})


class SiteSources:
    """Which changes rebuild a site: files under its project folder outside its output directory,
    node_modules, dot folders and the data dir."""

    def __init__(self, root: str, output: str, data_dir: str) -> None:
        self.root = os.path.realpath(root) + os.sep
        self.skipped = tuple(os.path.realpath(p) for p in (output, data_dir))

    def __call__(self, _change: Any, path: str) -> bool:
        if not path.startswith(self.root) or any(path == p or path.startswith(p + os.sep) for p in self.skipped):
            return False
        parts = path[len(self.root) :].split(os.sep)
        return not any(p.startswith(".") or p in _SKIPPED for p in parts)


class Rebuilder:
    """One site's build on every change of its sources, served from snapshots."""

    def __init__(self, server: SiteServer, data_dir: Path) -> None:
        self.server = server
        self.site = server.site
        self.snapshots = Path(data_dir) / "site-builds" / self.site.name
        self.sources = SiteSources(self.site.base, self.site.directory, str(data_dir))
        self.generation = 0
        self.builds = 0  # builds run on a change, good or not
        self.last_error: str | None = None
        self.watching = asyncio.Event()
        self._stop = asyncio.Event()

    def snapshot(self) -> None:
        """Serve a copy of the output as it is now (the build just succeeded); drop the older copies."""
        self.generation += 1
        target = self.snapshots / str(self.generation)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.site.directory, target, symlinks=True)
        self.server.serve_from(str(target))
        for old in self.snapshots.iterdir():
            if old.name.isdigit() and int(old.name) < self.generation - 1:  # the previous may be mid-request
                shutil.rmtree(old, ignore_errors=True)

    def rebuild(self) -> bool:
        """In a thread: run the build; a new snapshot on success, the error said once on failure."""
        self.builds += 1
        try:
            run_build(self.site)
        except StratoError as exc:
            message = str(exc)
            if message != self.last_error:
                log.error("site %s: build failed, still serving the last good build:\n%s", self.site.name, message)
                self.last_error = message
            return False
        self.snapshot()
        if self.last_error is not None:
            log.info("site %s: build fixed", self.site.name)
        self.last_error = None
        log.info("site %s: rebuilt (%s)", self.site.name, self.site.build)
        return True

    async def run(self) -> None:
        import watchfiles

        async for changes in watchfiles.awatch(
            self.site.base,
            watch_filter=self.sources,
            debounce=DEBOUNCE_MS,
            step=50,
            rust_timeout=200,
            yield_on_timeout=True,
            stop_event=self._stop,
        ):
            self.watching.set()
            if changes:
                try:
                    await run_in_threadpool(self.rebuild)
                except Exception:  # the watcher outlives any one build
                    log.exception("site %s: rebuild failed", self.site.name)

    def stop(self) -> None:
        self._stop.set()


async def start(servers: list[SiteServer], data_dir: Path) -> list[asyncio.Task]:
    """Snapshot each ``build=`` site's first build and watch its sources; returns once all watch."""
    tasks = []
    for server in servers:
        if server.site.build is None:
            continue
        rebuilder = Rebuilder(server, data_dir)
        await run_in_threadpool(rebuilder.snapshot)
        task = asyncio.create_task(rebuilder.run())
        task.rebuilder = rebuilder  # type: ignore[attr-defined]
        watching = asyncio.ensure_future(rebuilder.watching.wait())
        await asyncio.wait([task, watching], return_when=asyncio.FIRST_COMPLETED)
        watching.cancel()
        tasks.append(task)
    return tasks


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.rebuilder.stop()  # type: ignore[attr-defined]
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
