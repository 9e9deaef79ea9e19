"""What every dispatcher shares: awaiting async handlers, logging failures, counting invocations."""

from __future__ import annotations

import sys
import time

from ..core.usage import Counter

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from typing import Any

LAMBDA_GB = 0.5  # the memory strato synth gives functions


def log_exception(message: str, level: str = "error") -> None:
    """Log ``message`` with the exception being handled (if any) and its traceback."""
    import logging  # only on the error path: keeps cold start lean

    getattr(logging.getLogger("strato"), level)(message, exc_info=sys.exc_info()[0] is not None)


def run(result: Any) -> Any:
    """Await a coroutine returned by an async handler when we are not on an event loop."""
    if hasattr(result, "__await__"):
        import asyncio

        return asyncio.run(result)
    return result


def count_invocation(usage: Counter, started: float) -> None:
    """One Lambda invocation and its GB-seconds (billed per millisecond), for ``strato cost``."""
    usage.add("lambda", "invocations", 1)
    usage.add("lambda", "gb_seconds", max(time.perf_counter() - started, 0.001) * LAMBDA_GB)


class Invocation:
    """``with Invocation(usage):`` counts one Lambda invocation around the block, even when it raises."""

    def __init__(self, usage: Counter) -> None:
        self.usage = usage

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: Any) -> None:
        count_invocation(self.usage, self.started)
