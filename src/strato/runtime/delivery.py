"""Retry timing shared by the local deliveries that stand in for AWS's asynchronous invocations
(topic handler and webhook deliveries, bucket event notifications)."""

from __future__ import annotations

import os


def backoff(attempts: int) -> float:
    base = float(os.environ.get("STRATO_DELIVERY_BACKOFF", "1.0"))
    return min(base * 2 ** max(attempts - 1, 0), 60.0)
