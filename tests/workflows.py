"""What the workflow tests share: a one-state (or small) machine run to its end on the local executor."""

from __future__ import annotations

from typing import Any

import pytest

from strato.core import clock
from strato.core.clock import VirtualClock
from strato.testing.drain import Drain

START = 1_800_000_000.0  # where the ``virtual`` clock starts (2027-01-15T08:00:00Z)


@pytest.fixture
def virtual() -> Any:
    """strato's clock is a VirtualClock at START for the test (``from tests.workflows import virtual``)."""
    previous = clock.install(VirtualClock(START))
    yield clock.installed()
    clock.install(previous)


def run(app: Any, wf: Any, given: Any = None, **start: Any) -> Any:
    """Start an execution, run the app's background work in this thread until nothing is left, describe it."""
    arn = wf.start(given, **start)
    Drain(app)()
    return wf.describe(arn)


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """``machine(("A", {...}), ("B", {...}))``: StartAt the first, states in order."""
    return {"StartAt": states[0][0], "States": dict(states), **top}


def single(state: dict[str, Any]) -> dict[str, Any]:
    return machine(("S", {**state, "End": True}))


def wait_until(check: Any, timeout: float = 30.0, every: float = 0.02) -> None:
    """Poll ``check()`` until it is true; fail after ``timeout`` seconds (never a fixed sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {check}")
        time.sleep(every)
