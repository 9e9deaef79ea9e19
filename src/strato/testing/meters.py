"""``metrics`` and ``usage``: what the app under test recorded (custom metrics, as put) and what it would
be billed for (the counts ``strato cost`` prices)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core import outbox as core_outbox

if TYPE_CHECKING:
    from ..app import App
    from ..cost import Line


class Metrics:
    """Every data point put while the test ran: ``metrics.values("Latency")``, ``metrics.total("Signups",
    dimensions={"plan": "pro"})``, ``metrics.points(namespace=...)``."""

    def __init__(self) -> None:
        self._points: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _hear(self, kind: str, name: str, details: dict[str, Any]) -> None:
        if kind == "metric":
            with self._lock:
                self._points.append({"namespace": name, **details})

    def start(self) -> Metrics:
        core_outbox.listeners.append(self._hear)
        return self

    def stop(self) -> None:
        if self._hear in core_outbox.listeners:
            core_outbox.listeners.remove(self._hear)

    def points(
        self, name: str | None = None, *, namespace: str | None = None, dimensions: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The points (name, value, unit, dimensions, timestamp, namespace), oldest first; ``dimensions``
        matches points with exactly those dimensions, as CloudWatch does."""
        with self._lock:
            found = list(self._points)
        return [
            p
            for p in found
            if (name is None or p["name"] == name)
            and (namespace is None or p["namespace"] == namespace)
            and (dimensions is None or p["dimensions"] == dimensions)
        ]

    def values(self, name: str, **match: Any) -> list[float]:
        return [p["value"] for p in self.points(name, **match)]

    def total(self, name: str, **match: Any) -> float:
        return sum(self.values(name, **match))


class Usage:
    """The billable counts of the app under test: ``usage["lambda", "invocations"]``, ``usage.counts()``,
    ``usage.cost()`` (the month's estimate if the test's traffic ran ``runs_per_month`` times)."""

    def __init__(self, app_of: Callable[[], App]) -> None:
        self._app_of = app_of

    def counts(self) -> dict[tuple[str, str], float]:
        from ..core.usage import read

        app = self._app_of()
        app.usage.flush()
        return read(app.config.data_dir)

    def __getitem__(self, key: tuple[str, str]) -> float:
        return self.counts().get(key, 0.0)

    def lines(self, runs_per_month: float = 1.0) -> list[Line]:
        from ..cost import estimate

        app = self._app_of()
        app.usage.flush()
        return estimate(app.config.data_dir, runs_per_month)

    def cost(self, runs_per_month: float = 1.0) -> float:
        """US dollars a month, at strato cost's list prices."""
        return sum(line.monthly for line in self.lines(runs_per_month))
