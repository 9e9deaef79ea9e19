"""Metrics (metric, statistic, period -> a series), alarms (state, and the history of transitions this
server has seen), usage as recorded for ``strato cost`` and its monthly estimate."""

from __future__ import annotations

import threading
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .web import BadRequest, blocking, endpoint, query_int

STATISTICS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount", "p50", "p90", "p99")
HISTORY = 50  # transitions kept per alarm


def _metrics(request: Request, namespace: str) -> Any:
    found = next((m for m in request.app.state.app.of_kind("metrics") if m.name == namespace), None)
    if found is None:
        raise BadRequest(f"this app declares no metrics namespace {namespace!r}", 404)
    return found


@endpoint
async def catalog(request: Request) -> Any:
    def listing() -> list[dict[str, Any]]:
        return [
            {
                "name": m.name,
                "namespace": m.namespace,
                "metrics": [{"name": n, "dimensions": d} for n, d in m.list()],
                "alarms": sorted(m.alarms),
            }
            for m in request.app.state.app.of_kind("metrics")
        ]

    return {"namespaces": await blocking(listing), "statistics": list(STATISTICS)}


@endpoint
async def series(request: Request) -> Any:
    metrics = _metrics(request, request.path_params["name"])
    q = request.query_params
    metric = q.get("metric", "")
    if not metric:
        raise BadRequest("metric is required (?metric=...)")
    statistic = q.get("statistic", "Average")
    period = query_int(request, "period", 60, 1, 86_400)
    hours = query_int(request, "hours", 3, 1, 24 * 15)
    dimensions = {k[4:]: v for k, v in q.items() if k.startswith("dim.")}
    end = None
    if (raw_end := q.get("end")) is not None:
        try:
            end = float(raw_end)
        except ValueError as exc:
            raise BadRequest("end must be a UNIX time in seconds") from exc
    from ..core import clock

    stop = end if end is not None else clock.now()
    points = await blocking(
        metrics.query,
        metric,
        statistics=[statistic],
        period=period,
        start=stop - hours * 3600,
        end=stop,
        dimensions=dimensions,
    )
    return {
        "metric": metric,
        "statistic": statistic,
        "period": period,
        "unit": points[0].unit if points else None,
        "start": stop - hours * 3600,
        "end": stop,
        "points": [[p.timestamp, p.values.get(statistic)] for p in points],
    }


class AlarmHistory:
    """Transitions seen by this server: each (state, changed) the store holds is one, recorded when the
    page asks or the metrics store changes (the local store keeps only the current state)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.lock = threading.Lock()

    def observe(self, app: Any) -> list[dict[str, Any]]:
        out = []
        for metrics in app.of_kind("metrics"):
            for name, alarm in sorted(metrics.alarms.items()):
                found = metrics.backend.alarm_state(name, alarm) if hasattr(metrics.backend, "alarm_state") else None
                state, reason, changed = found if found else ("INSUFFICIENT_DATA", "not evaluated yet", None)
                with self.lock:
                    history = self.seen.setdefault((metrics.name, name), [])
                    if changed is not None and (not history or history[-1]["changed"] != changed):
                        history.append({"state": state, "reason": reason, "changed": changed})
                        del history[:-HISTORY]
                    past = list(reversed(history))
                out.append(
                    {
                        "namespace": metrics.name,
                        "name": name,
                        "metric": alarm.metric,
                        "statistic": alarm.statistic,
                        "period": alarm.period,
                        "comparison": alarm.comparison,
                        "threshold": alarm.threshold,
                        "state": state,
                        "reason": reason,
                        "changed": changed,
                        "history": past,
                    }
                )
        return out


HISTORY_OF_ALARMS = AlarmHistory()


@endpoint
async def alarms(request: Request) -> Any:
    return await blocking(HISTORY_OF_ALARMS.observe, request.app.state.app)


def _cost(app: Any, runs: float) -> dict[str, Any]:
    from .. import cost as pricing
    from ..core.usage import read

    if (flush := getattr(app.usage, "flush", None)) is not None:
        flush()  # counts not yet in usage.db
    lines = pricing.estimate(
        app.config.data_dir, runs, None, pricing.polled(app.of_kind("queue")), **pricing.storage_of(app)
    )
    result = pricing.summary(lines, None)
    result["lines"] = [li.as_dict() for li in lines]
    result["usage"] = [
        {"service": s, "unit": u, "amount": a} for (s, u), a in sorted(read(app.config.data_dir).items())
    ]
    result["runs_per_month"] = runs
    return result


@endpoint
async def cost(request: Request) -> Any:
    raw = request.query_params.get("runs", "1")
    try:
        runs = float(raw)
    except ValueError as exc:
        raise BadRequest("runs must be a number (runs of this recording per month)") from exc
    if not 0 < runs <= 1e6:
        raise BadRequest("runs must be over 0 and at most 1000000")
    return await blocking(_cost, request.app.state.app, runs)


ROUTES = [
    Route("/_strato/console/api/metrics", catalog),
    Route("/_strato/console/api/metrics/{name}/series", series),
    Route("/_strato/console/api/alarms", alarms),
    Route("/_strato/console/api/cost", cost),
]
