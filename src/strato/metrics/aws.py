"""The CloudWatch metrics provider: PutMetricData in API-sized batches, or Embedded Metric Format
lines on stdout inside Lambda (no API call, no added latency); GetMetricData and ListMetrics to read."""

from __future__ import annotations

import builtins
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..core.context import AwsClients, ProviderServices
from ..core.errors import StratoError

if TYPE_CHECKING:
    from . import Metrics
    from .alarm import Alarm
    from .history import AlarmHistoryItem

PUT_BATCH = 1000  # PutMetricData: at most 1,000 metrics per request
PUT_BYTES = 900_000  # and 1 MB of payload; stay below it
QUERIES_PER_CALL = 500  # GetMetricData: at most 500 queries per request
EMF_METRICS = 100  # EMF: at most 100 metrics per document


def emf_documents(namespace: str, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """EMF documents: one per (dimensions, timestamp in ms), each metric a member with its value."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for p in points:
        key = (tuple(sorted(p["dimensions"].items())), int(p["timestamp"] * 1000))
        groups.setdefault(key, []).append(p)
    docs = []
    for (dims, stamp), members in groups.items():
        for start in range(0, len(members), EMF_METRICS):
            chunk = members[start : start + EMF_METRICS]
            doc: dict[str, Any] = {
                "_aws": {
                    "Timestamp": stamp,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": namespace,
                            "Dimensions": [[k for k, _ in dims]],
                            "Metrics": [],
                        }
                    ],
                }
            }
            definitions: dict[str, dict[str, Any]] = {}
            for p in chunk:
                definitions.setdefault(
                    p["name"], {"Name": p["name"], "Unit": p["unit"], "StorageResolution": p["resolution"]}
                )
                doc.setdefault(p["name"], [])
                doc[p["name"]].append(p["value"])
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] = list(definitions.values())
            for name in definitions:
                if len(doc[name]) == 1:
                    doc[name] = doc[name][0]
            doc.update(dict(dims))
            docs.append(doc)
    return docs


class CloudWatchMetricsBackend:
    capabilities = frozenset({"percentiles", "high_resolution", "alarms"})

    def __init__(self, session: AwsClients, namespace: str, emf: bool, auto_create: bool = False) -> None:
        self.session = session
        self.ns = namespace
        self.emf = emf
        self.auto_create = auto_create  # put declared alarms on first use (PutMetricAlarm), as tables are created
        self._put_alarms: set[str] = set()

    def _client(self) -> Any:
        return self.session.client("cloudwatch")

    def put(self, points: list[dict[str, Any]]) -> None:
        if self.emf:
            for doc in emf_documents(self.ns, points):
                sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")
            sys.stdout.flush()
            return
        batch: list[dict[str, Any]] = []
        size = 0
        for p in points:
            datum = {
                "MetricName": p["name"],
                "Value": p["value"],
                "Unit": p["unit"],
                "StorageResolution": p["resolution"],
                "Timestamp": datetime.fromtimestamp(p["timestamp"], UTC),
                "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(p["dimensions"].items())],
            }
            cost = len(p["name"]) + 64 + sum(len(k) + len(v) + 16 for k, v in p["dimensions"].items())
            if len(batch) == PUT_BATCH or size + cost > PUT_BYTES:
                self._send(batch)
                batch, size = [], 0
            batch.append(datum)
            size += cost
        if batch:
            self._send(batch)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client().put_metric_data(Namespace=self.ns, MetricData=batch)
        except ClientError as exc:
            raise StratoError(f"PutMetricData to {self.ns!r} failed: {exc}") from exc

    def query(
        self, name: str, dimensions: dict[str, str], stats: list[str], start: float, end: float, period: int, now: float
    ) -> tuple[list[tuple[float, dict[str, float | None]]], str | None]:
        metric = {
            "Namespace": self.ns,
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())],
        }
        queries = [
            {"Id": f"q{i}", "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}, "ReturnData": True}
            for i, stat in enumerate(stats)
        ]
        found: dict[float, dict[str, float | None]] = {}
        paginator = self._client().get_paginator("get_metric_data")
        for page in paginator.paginate(
            MetricDataQueries=queries[:QUERIES_PER_CALL],
            ScanBy="TimestampAscending",
            StartTime=datetime.fromtimestamp(start, UTC),
            EndTime=datetime.fromtimestamp(end, UTC),
        ):
            for result in page["MetricDataResults"]:
                stat = stats[int(result["Id"][1:])]
                for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                    found.setdefault(stamp.timestamp(), {s: None for s in stats})[stat] = value
        return sorted(found.items()), None

    def list(self, name: str | None) -> list[tuple[str, dict[str, str]]]:
        params: dict[str, Any] = {"Namespace": self.ns}
        if name is not None:
            params["MetricName"] = name
        seen: dict[tuple, tuple[str, dict[str, str]]] = {}
        for page in self._client().get_paginator("list_metrics").paginate(**params):
            for m in page["Metrics"]:
                dims = {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}
                seen[m["MetricName"], tuple(sorted(dims.items()))] = (m["MetricName"], dims)
        return [seen[k] for k in sorted(seen)]

    # -- alarms: CloudWatch evaluates them; strato declares them and reads their state ----------------
    def put_alarm(self, alarm: Alarm) -> None:
        params = alarm_params(alarm, self.ns)
        self._client().put_metric_alarm(**params)

    def alarm_state(self, name: str, alarm: Alarm | None = None) -> tuple[str, str, float] | None:
        if alarm is not None and self.auto_create and name not in self._put_alarms:
            self.put_alarm(alarm)
            self._put_alarms.add(name)
        physical = alarm.physical if alarm is not None and alarm.physical else name
        found = self._client().describe_alarms(AlarmNames=[physical], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
        if not found:
            return None
        a = found[0]
        return a["StateValue"], a.get("StateReason", ""), a["StateUpdatedTimestamp"].timestamp()

    def alarm_history(
        self, alarm: Alarm, kind: str | None, start: float | None, end: float | None, limit: int
    ) -> builtins.list[AlarmHistoryItem]:
        """DescribeAlarmHistory, newest first, as the items the local store keeps (``alarm`` by its
        declared name, HistoryData parsed)."""
        from .history import AlarmHistoryItem

        params: dict[str, Any] = {
            "AlarmName": alarm.physical or alarm.name,
            "AlarmTypes": ["MetricAlarm"],
            "ScanBy": "TimestampDescending",
        }
        if kind is not None:
            params["HistoryItemType"] = kind
        for key, at in (("StartDate", start), ("EndDate", end)):
            if at is not None:
                params[key] = datetime.fromtimestamp(at, UTC)
        items: builtins.list[AlarmHistoryItem] = []
        for page in self._client().get_paginator("describe_alarm_history").paginate(**params):
            for h in page.get("AlarmHistoryItems", []):
                raw = h.get("HistoryData") or "{}"
                data = json.loads(raw) if raw.startswith("{") else {"text": raw}
                stamp = h["Timestamp"].timestamp()
                items.append(AlarmHistoryItem(alarm.name, stamp, h["HistoryItemType"], h["HistorySummary"], data))
                if len(items) == limit:
                    return items
        return items

    def compact(self, now: float | None = None) -> int:
        return 0  # CloudWatch ages its own data

    def drop(self) -> None:
        pass  # metrics cannot be deleted from CloudWatch; they expire


def alarm_params(alarm: Alarm, namespace: str) -> dict[str, Any]:
    """PutMetricAlarm's parameters (and, with Refs for the topics, AWS::CloudWatch::Alarm's properties)."""

    def arns(topics: list[Any]) -> list[Any]:
        return [t.arn if hasattr(t, "arn") else t for t in topics]

    params: dict[str, Any] = {
        "AlarmName": alarm.physical or alarm.name,
        "Namespace": namespace,
        "MetricName": alarm.metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(alarm.dimensions.items())],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm,
        "Threshold": float(alarm.threshold),
        "ComparisonOperator": alarm.comparison,
        "TreatMissingData": alarm.treat_missing_data,
        "ActionsEnabled": True,
        "AlarmActions": arns(alarm.actions),
        "OKActions": arns(alarm.ok_actions),
        "InsufficientDataActions": arns(alarm.insufficient_data_actions),
    }
    if alarm.statistic.startswith("p"):
        params["ExtendedStatistic"] = alarm.statistic
    else:
        params["Statistic"] = alarm.statistic
    if alarm.description:
        params["AlarmDescription"] = alarm.description
    return params


def open_backend(metrics: Metrics, services: ProviderServices) -> CloudWatchMetricsBackend:
    """The registry's factory: PutMetricData calls, or EMF lines on stdout inside Lambda."""
    from ..core.config import in_lambda

    return CloudWatchMetricsBackend(
        services.aws(), metrics.namespace, emf=in_lambda(), auto_create=services.config.auto_create
    )
