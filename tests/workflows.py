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


def worker(app_file: str, data: Any) -> Any:
    """A ``strato worker`` subprocess on ``tests/apps/<app_file>`` and the data dir ``data`` (durability tests)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.Popen(
        [sys.executable, "-m", "strato.cli", "worker", f"tests/apps/{app_file}", "--data", str(data)],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "STRATO_PROVIDER": "local"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_and_resume(app_file: str, data: Any, killed_when: Any, between: Any, done: Any) -> None:
    """A worker runs until ``killed_when()``, is SIGKILLed; ``between()`` checks the store; a second worker
    runs until ``done()`` and is stopped (SIGTERM)."""
    import signal

    first = worker(app_file, data)
    try:
        wait_until(killed_when, timeout=120)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    between()
    second = worker(app_file, data)
    try:
        wait_until(done, timeout=180)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)


def run_tasks(app: Any, definition: dict[str, Any], given: Any = None, **tasks: Any) -> tuple[Any, Any]:
    """Declare a workflow with task handlers by name, run one execution: (workflow, its description)."""
    wf = app.workflow(f"w{len(app.resources)}", definition=definition)
    for name, fn in tasks.items():
        wf.task(name)(fn)
    return wf, run(app, wf, given)


def succeeded(app: Any, definition: dict[str, Any], given: Any = None, **tasks: Any) -> Any:
    """The output of an execution that must succeed."""
    _, found = run_tasks(app, definition, given, **tasks)
    assert found.status == "SUCCEEDED", (found.error, found.cause)
    return found.output


JSONATA = {"QueryLanguage": "JSONata"}  # ``machine(..., **JSONATA)`` / ``single(state) | JSONATA``


def held_threads() -> int:
    """Threads alive but the workflow task pool's workers (a bounded pool that grows with the tasks run at
    once, idle between them) and the usage counter's flush timer: what a waiting execution could hold."""
    import threading

    return sum(
        not isinstance(t, threading.Timer) and not t.name.startswith("strato-workflow-task-")
        for t in threading.enumerate()
    )
