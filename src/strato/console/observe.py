"""Metrics (metric, statistic, period -> a series), alarms (state, and the history of transitions the
alarm evaluation recorded, whether or not a console was open), usage as recorded for ``strato cost`` and
its monthly estimate."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .web import BadRequest, blocking, endpoint, query_int

STATISTICS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount", "p50", "p90", "p99")
HISTORY = 50  # transitions shown per alarm


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


def _transitions(metrics: Any, name: str) -> tuple[list[dict[str, Any]], str | None]:
    """The alarm's StateUpdate history as the evaluation recorded it (newest first), or why there is none."""
    try:
        items = metrics.alarm_history(name, type="StateUpdate", limit=HISTORY)
    except Exception as exc:  # e.g. a provider whose API lacks DescribeAlarmHistory: the page says so
        return [], f"{type(exc).__name__}: {exc}"
    return [
        {
            "changed": i.timestamp,
            "old": i.data.get("oldState", {}).get("stateValue"),
            "state": i.data.get("newState", {}).get("stateValue"),
            "summary": i.summary,
            "reason": i.data.get("newState", {}).get("stateReason", ""),
        }
        for i in items
    ], None


def alarm_listing(app: Any) -> list[dict[str, Any]]:
    out = []
    for metrics in app.of_kind("metrics"):
        for name, alarm in sorted(metrics.alarms.items()):
            found = metrics.backend.alarm_state(name, alarm)
            state, reason, changed = found if found else ("INSUFFICIENT_DATA", "not evaluated yet", None)
            history, unavailable = _transitions(metrics, name)
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
                    "history": history,
                    "history_error": unavailable,
                }
            )
    return out


@endpoint
async def alarms(request: Request) -> Any:
    return await blocking(alarm_listing, request.app.state.app)


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
