"""The dashboard's GraphQL API (the seed's schema): history, the last minute, cost, custom metrics,
and live datapoints and alarm changes as subscriptions (graphql-transport-ws)."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from validation import RESERVED, Invalid, check_app_id, parse_time

from strato import ValidationError
from strato.graphql import published

STATISTICS = ["Average", "Sum", "Minimum", "Maximum", "SampleCount", "p50", "p95", "p99"]
MAX_SPAN_S = 455 * 86400


@strawberry.enum
class Granularity(enum.Enum):
    MINUTE = 60
    FIVE_MINUTES = 300
    HOUR = 3600
    DAY = 86400


@strawberry.input
class DimensionInput:
    name: str
    value: str


@strawberry.type
class Datapoint:
    timestamp: str
    average: float | None
    sum: float | None
    minimum: float | None
    maximum: float | None
    sample_count: float | None
    p50: float | None
    p95: float | None
    p99: float | None


@strawberry.type
class MetricsResponse:
    application_id: str
    metric_name: str
    granularity: Granularity
    unit: str | None
    datapoints: list[Datapoint]


@strawberry.type
class RealtimeMetric:
    metric_name: str
    unit: str | None
    latest: float
    average: float
    minimum: float
    maximum: float
    sample_count: int
    timestamp: str


@strawberry.type
class RealtimeMetrics:
    application_id: str
    since: str
    metrics: list[RealtimeMetric]


@strawberry.type
class MetricInfo:
    metric_name: str
    dimensions: JSON


@strawberry.type
class ServiceCost:
    service: str
    usd: float


@strawberry.type
class CostBreakdown:
    start_date: str
    end_date: str
    total_usd: float
    services: list[ServiceCost]
    basis: str


@strawberry.type
class MetricResult:
    accepted: int
    application_id: str
    metric_name: str
    value: float
    timestamp: str


@strawberry.type
class MetricUpdate:
    application_id: str
    metric_name: str
    value: float
    unit: str
    dimensions: JSON
    timestamp: str


@strawberry.type
class AlarmUpdate:
    name: str
    application_id: str
    state: str
    old_state: str
    state_reason: str
    timestamp: str


def iso(at: Any) -> str:
    """UTC ISO-8601 with milliseconds (stream images carry numbers as Decimal, as DynamoDB's do)."""
    return datetime.fromtimestamp(float(at), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def moment(value: str, field: str) -> float:
    """ISO-8601 text or epoch milliseconds (as digits), without the ingest's age limits."""
    try:
        return parse_time(int(value) if value.isdigit() else value)
    except Invalid as bad:
        raise ValidationError(f"{field}: {bad}") from None


def build(service: Any) -> strawberry.Schema:
    """The schema over ``service`` (the app module's functions: query, realtime, ingest, cost)."""

    @strawberry.type
    class Query:
        @strawberry.field
        def get_metrics(
            self,
            application_id: str,
            metric_type: str,
            start_time: str,
            end_time: str,
            granularity: Granularity = Granularity.FIVE_MINUTES,
            dimensions: list[DimensionInput] | None = None,
        ) -> MetricsResponse:
            app_id = _app(application_id)
            start, end = moment(start_time, "startTime"), moment(end_time, "endTime")
            dims = {d.name: d.value for d in dimensions or []}
            if RESERVED in dims:
                raise ValidationError(f"{RESERVED} is given by applicationId")
            points = service.history(app_id, metric_type, start, end, granularity.value, dims)
            unit = next((p.unit for p in points if p.unit), None)
            return MetricsResponse(
                application_id=app_id,
                metric_name=metric_type,
                granularity=granularity,
                unit=unit,
                datapoints=[
                    Datapoint(
                        timestamp=iso(p.timestamp),
                        average=p["Average"],
                        sum=p["Sum"],
                        minimum=p["Minimum"],
                        maximum=p["Maximum"],
                        sample_count=p["SampleCount"],
                        p50=p["p50"],
                        p95=p["p95"],
                        p99=p["p99"],
                    )
                    for p in points
                ],
            )

        @strawberry.field
        def get_realtime_metrics(self, application_id: str) -> RealtimeMetrics:
            since, rows = service.realtime(_app(application_id))
            return RealtimeMetrics(
                application_id=application_id,
                since=iso(since),
                metrics=[RealtimeMetric(**{**r, "timestamp": iso(r["timestamp"])}) for r in rows],
            )

        @strawberry.field
        def list_metrics(self, application_id: str) -> list[MetricInfo]:
            return [MetricInfo(metric_name=n, dimensions=d) for n, d in service.catalogue(_app(application_id))]

        @strawberry.field
        def get_cost_analysis(self, start_date: str, end_date: str) -> CostBreakdown:
            start, end = moment(start_date, "startDate"), moment(end_date, "endDate")
            if end <= start:
                raise ValidationError("endDate must be after startDate")
            total, by_service, basis = service.cost(start, end)
            return CostBreakdown(
                start_date=iso(start),
                end_date=iso(end),
                total_usd=total,
                services=[ServiceCost(service=s, usd=v) for s, v in sorted(by_service.items())],
                basis=basis,
            )

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def record_custom_metric(
            self,
            application_id: str,
            metric_name: str,
            value: float,
            unit: str | None = None,
            dimensions: list[DimensionInput] | None = None,
        ) -> MetricResult:
            item: dict[str, Any] = {"applicationId": _app(application_id), "metricName": metric_name, "value": value}
            if unit is not None:
                item["unit"] = unit
            if dimensions:
                item["dimensions"] = {d.name: d.value for d in dimensions}
            stored = service.record(application_id, item)
            return MetricResult(
                accepted=1,
                application_id=application_id,
                metric_name=metric_name,
                value=value,
                timestamp=iso(stored["timestamp"]),
            )

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def metric_updates(
            self, info: strawberry.Info, application_id: str, metric_types: list[str] | None = None
        ) -> AsyncGenerator[MetricUpdate, None]:
            wanted = set(metric_types or [])
            async for batch in published(info):  # one event per stream batch: {applicationId: [datapoints]}
                for point in batch.get(application_id, ()):  # every subscription reads only its application's
                    if not wanted or point["metricName"] in wanted:
                        yield MetricUpdate(
                            application_id=application_id,
                            metric_name=point["metricName"],
                            value=float(point["value"]),
                            unit=point["unit"],
                            dimensions=point["dimensions"],
                            timestamp=iso(point["timestamp"]),
                        )

        @strawberry.subscription
        async def alarm_updates(
            self, info: strawberry.Info, application_id: str | None = None
        ) -> AsyncGenerator[AlarmUpdate, None]:
            async for event in published(info):
                if application_id is None or event["applicationId"] == application_id:
                    yield AlarmUpdate(
                        name=event["name"],
                        application_id=event["applicationId"],
                        state=event["state"],
                        old_state=event["oldState"],
                        state_reason=event["stateReason"],
                        timestamp=iso(event["timestamp"]),
                    )

    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)


def _app(application_id: str) -> str:
    try:
        return check_app_id(application_id)
    except Invalid as bad:
        raise ValidationError(str(bad)) from None
