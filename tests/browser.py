"""Debian's Chromium under playwright, as the browser tests launch it (never a downloaded browser)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.test_meetings_browser import CHROMIUM

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def launch(pw: Any, home: Path) -> Any:
    """A headless Chromium whose profile and caches live under ``home`` (the test's tmp_path)."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "HOME": str(home)})
