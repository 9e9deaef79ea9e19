"""The hourly report: the seed's pipeline (FetchData → Parallel[AggregateMetrics, GenerateReports] →
StoreResults) as an ASL workflow whose tasks are the Python functions below.

A report covers the hour before the run, per application: totals, the top metrics by datapoints and
the alarms that went to ALARM; it is stored as JSON in the reports bucket under ``reports/<id>.json``,
where the id is the execution's name."""

from __future__ import annotations

import json
from typing import Any

HOUR_S = 3600
TOP = 5

DEFINITION: dict[str, Any] = {
    "Comment": "Analytics batch processing pipeline: an hour of metrics into a report per application",
    "StartAt": "FetchData",
    "States": {
        "FetchData": {
            "Type": "Task",
            "Resource": "FetchData",
            "Parameters": {"input.$": "$", "reportId.$": "$$.Execution.Name"},
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "MaxAttempts": 2}],
            "Next": "ProcessData",
        },
        "ProcessData": {
            "Type": "Parallel",
            "ResultPath": "$.parts",
            "Branches": [
                {
                    "StartAt": "AggregateMetrics",
                    "States": {"AggregateMetrics": {"Type": "Task", "Resource": "AggregateMetrics", "End": True}},
                },
                {
                    "StartAt": "GenerateReports",
                    "States": {"GenerateReports": {"Type": "Task", "Resource": "GenerateReports", "End": True}},
                },
            ],
            "Next": "StoreResults",
        },
        "StoreResults": {"Type": "Task", "Resource": "StoreResults", "End": True},
    },
}


def register(workflow: Any, list_apps: Any, metrics: Any, alarm_history: Any, bucket: Any, now: Any) -> None:
    """Bind the four tasks to ``workflow`` over the app's resources."""

    @workflow.task("FetchData")
    def fetch(event: dict[str, Any]) -> dict[str, Any]:
        given = (event.get("input") or {}).get("end")
        end = float(given) if isinstance(given, (int, float)) else -(-now() // 60) * 60  # to the next minute
        apps = sorted(a["applicationId"] for a in list_apps())
        return {"reportId": event["reportId"], "start": end - HOUR_S, "end": end, "applications": apps}

    @workflow.task("AggregateMetrics")
    def aggregate(data: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for app_id in data["applications"]:
            rows = []
            for name, dims in metrics.list(dimensions={"ApplicationId": app_id}):
                points = metrics.query(
                    name,
                    statistics=["Sum", "SampleCount", "Minimum", "Maximum"],
                    period=60,
                    start=data["start"],
                    end=data["end"],
                    dimensions=dims,
                )
                if not points:
                    continue
                count = sum(p["SampleCount"] or 0 for p in points)
                total = sum(p["Sum"] or 0 for p in points)
                rows.append(
                    {
                        "metricName": name,
                        "dimensions": {k: v for k, v in dims.items() if k != "ApplicationId"},
                        "sampleCount": count,
                        "sum": total,
                        "average": total / count if count else None,
                        "minimum": min(p["Minimum"] for p in points),
                        "maximum": max(p["Maximum"] for p in points),
                    }
                )
            rows.sort(key=lambda r: (-r["sampleCount"], r["metricName"]))
            out[app_id] = {
                "totals": {"datapoints": sum(r["sampleCount"] for r in rows), "metrics": len(rows)},
                "topMetrics": rows[:TOP],
            }
        return out

    @workflow.task("GenerateReports")
    def generate(data: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for app_id in data["applications"]:
            span = (f"{data['start']:017.3f}", f"{data['end']:017.3f}")
            fired = [
                {"name": h["alarm"], "at": h["at"], "reason": h["reason"]}
                for h in alarm_history.query(app_id).items
                if span[0] <= h["sk"][:17] < span[1] and h["state"] == "ALARM"
            ]
            out[app_id] = {"alarmsFired": fired}
        return out

    @workflow.task("StoreResults")
    def store(data: dict[str, Any]) -> dict[str, Any]:
        aggregated, generated = data["parts"]
        report = {
            "reportId": data["reportId"],
            "start": data["start"],
            "end": data["end"],
            "generatedAt": now(),
            "applications": {
                app_id: {**aggregated.get(app_id, {}), **generated.get(app_id, {})} for app_id in data["applications"]
            },
        }
        key = f"reports/{data['reportId']}.json"
        bucket.put(key, json.dumps(report).encode(), content_type="application/json")
        return {"reportId": data["reportId"], "key": key}
