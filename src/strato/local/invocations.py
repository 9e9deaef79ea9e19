"""``strato dev``'s line per background invocation: source (queue, topic, stream, schedule, bucket,
websocket), handler, outcome and milliseconds, e.g. ``queue jobs.work ok 2.1 ms``.

HTTP requests have their own line (the gateway logs method, path and status), so ``http`` invocations
are skipped here. A failure's traceback is not repeated: the dispatcher, the worker or the scheduler
already logged it where it was caught, at ERROR, which shows at every ``--log-level`` up to error.
"""

from __future__ import annotations

import logging

from ..dispatch.base import Invocation, observe

log = logging.getLogger("strato.invocations")


def log_invocation(invocation: Invocation) -> None:
    if invocation.source == "http" or not log.isEnabledFor(logging.INFO):
        return
    log.info("%s %s %s %.1f ms", invocation.source, invocation.handler, invocation.outcome, invocation.seconds * 1000)


def log_invocations() -> None:
    """From now on, every invocation in this process gets its line."""
    observe(log_invocation)
