"""Debian's Firefox ESR driven over WebDriver BiDi, for the browser tests that must also pass in Firefox.

Why a client of its own: playwright's Firefox is a patched build it downloads (never done here), and its
``moz-firefox`` channel, which drives a stock Firefox over BiDi, sends commands Firefox ESR does not
have yet (``emulation.setMediaFeaturesOverride``: "unknown command"); Debian ships no geckodriver for
selenium. Firefox's Remote Agent speaks BiDi itself (``--remote-debugging-port``), so the few commands
a test needs — navigate, evaluate, screenshot, and ``log.entryAdded`` for uncaught errors — are a
websocket away (the ``websockets`` test dependency)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REQUIRE_SERVICES

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
_LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")


class BidiError(RuntimeError):
    """A BiDi command answered with an error, or a page script threw."""


class Firefox:
    """One headless Firefox with one BiDi session; ``errors`` collects the page's uncaught script errors."""

    def __init__(self, home: Path, timeout: float = 60.0) -> None:
        from websockets.sync.client import connect

        profile = home / "firefox-profile"
        profile.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HOME": str(home), "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"}
        self.proc = subprocess.Popen(
            [str(FIREFOX), "--headless", "--no-remote", "--remote-debugging-port=0", "--profile", str(profile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.timeout = timeout
        self.log: list[str] = []
        url = self._endpoint(timeout)
        self._stack = ExitStack()  # the connection as a context manager (websockets >= 17 wants that)
        self.ws = self._stack.enter_context(connect(f"{url}/session", max_size=64 * 2**20, open_timeout=timeout))
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.version = self.send("session.new", {"capabilities": {}})["capabilities"]["browserVersion"]
        self.send("session.subscribe", {"events": ["log.entryAdded"]})
        self.context = self.send("browsingContext.getTree", {})["contexts"][0]["context"]
        viewport = {"width": 1280, "height": 860}  # as the Chromium tests' pages
        self.send("browsingContext.setViewport", {"context": self.context, "viewport": viewport})

    def _endpoint(self, timeout: float) -> str:
        """Firefox prints its BiDi address on stderr once the Remote Agent listens; read it (bounded)."""
        found: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log.append(line.rstrip())
                if not found and (m := _LISTENING.search(line)):
                    found.append(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or not found:
            self.close()
            raise BidiError("Firefox did not open its WebDriver BiDi port:\n" + "\n".join(self.log[-20:]))
        return found[0]

    def send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        wanted = self._id
        self.ws.send(json.dumps({"id": wanted, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BidiError(f"{method}: no answer in {self.timeout} s")
            message = json.loads(self.ws.recv(timeout=left))
            if message.get("type") == "event":
                self._event(message)
            elif message.get("id") == wanted:
                if message.get("type") == "error":
                    raise BidiError(f"{method}: {message.get('error')}: {message.get('message')}")
                return message["result"]

    def _event(self, message: dict[str, Any]) -> None:
        self.events.append(message)
        entry = message.get("params", {})
        if message.get("method") == "log.entryAdded" and entry.get("type") == "javascript":
            self.errors.append(entry.get("text", ""))

    def goto(self, url: str) -> None:
        self.send("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    def _script(self, expression: str, keep: bool) -> dict[str, Any]:
        """script.evaluate in the page; ``keep``: hold the result (a node) so input actions can refer to it."""
        params = {"expression": expression, "target": {"context": self.context}, "awaitPromise": True}
        return self.send("script.evaluate", {**params, "resultOwnership": "root" if keep else "none"})

    def evaluate(self, expression: str, truthy: bool = False) -> Any:
        """The JSON value of ``expression`` (awaited if a promise) in the page; with ``truthy``, an object
        (a DOM element, say) is ``True`` and a falsy value ``None``."""
        shown = "(v ? (typeof v === 'object' && !Array.isArray(v) ? true : v) : null)" if truthy else "v"
        wrapped = f"(async () => {{ const v = await ({expression}); return JSON.stringify({shown}); }})()"
        result = self._script(wrapped, keep=False)
        if result["type"] == "exception":
            raise BidiError(f"{expression}: {result['exceptionDetails'].get('text')}")
        value = result["result"].get("value")
        return None if value is None else json.loads(value)

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll ``expression`` until it is truthy in JavaScript; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression, truthy=True)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BidiError(f"still false after {timeout} s: {expression} (page errors: {self.errors})")
            time.sleep(0.05)

    def _element(self, selector: str) -> dict[str, Any]:
        """A shared reference to the first element matching ``selector`` (for input actions)."""
        result = self._script(f"document.querySelector({json.dumps(selector)})", keep=True)
        node = result.get("result", {})
        if result["type"] != "success" or node.get("type") != "node":
            raise BidiError(f"no element matches {selector!r}")
        return {"sharedId": node["sharedId"]}

    def click(self, selector: str) -> None:
        """A real mouse click (input.performActions) in the middle of the element."""
        self.wait_for(f"document.querySelector({json.dumps(selector)})")
        origin = {"type": "element", "element": self._element(selector)}
        pointer = [
            {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]
        actions = [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": pointer}]
        self.send("input.performActions", {"context": self.context, "actions": actions})

    def fill(self, selector: str, text: str) -> None:
        """Click into a text field, select what is there and type ``text`` key by key."""
        self.click(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).select()")
        keys: list[dict[str, Any]] = []
        for ch in text:
            keys += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        actions = [{"type": "key", "id": "keyboard", "actions": keys}]
        self.send("input.performActions", {"context": self.context, "actions": actions})

    def screenshot(self, path: Path) -> None:
        """The whole page, as playwright's ``full_page`` screenshots of the Chromium tests."""
        params = {"context": self.context, "origin": "document"}
        data = self.send("browsingContext.captureScreenshot", params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                try:
                    self.send("session.end", {})
                except Exception:
                    pass
                self._stack.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def firefox_or_skip() -> str:
    if FIREFOX is None:
        if REQUIRE_SERVICES:
            pytest.fail("Debian's firefox-esr is required (STRATO_REQUIRE_SERVICES=1): apt-get install firefox-esr")
        pytest.skip("firefox-esr is not installed (apt-get install firefox-esr); the console's Firefox test needs it")
    return FIREFOX
