"""The raw datapoints table's items: one per ingest call, its points in a compact form (n, v, u, d, t).

One item (and one change-stream record) per batch instead of one per datapoint keeps the write and the
live path per call, not per point; items stay under DynamoDB's 400 KB limit by chunking."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def chunks(checked: list[dict[str, Any]], max_bytes: int) -> list[list[dict[str, Any]]]:
    """Checked metrics as compact points, in lists of at most about ``max_bytes`` each."""
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for m in checked:
        point = {"n": m["name"], "v": m["value"], "u": m["unit"], "d": m["dimensions"], "t": m["timestamp"]}
        weight = 64 + len(m["name"]) + sum(len(k) + len(v) + 8 for k, v in m["dimensions"].items())
        if size + weight > max_bytes and out[-1]:
            out.append([])
            size = 0
        out[-1].append(point)
        size += weight
    return out


def unrolled(item: dict[str, Any]) -> list[dict[str, Any]]:
    """An item's datapoints as the live views and the alarms see them (stream images carry Decimals)."""
    app_id = item["applicationId"]
    return [
        {
            "applicationId": app_id,
            "metricName": p["n"],
            "value": float(p["v"]),
            "unit": p["u"],
            "dimensions": p["d"],
            "timestamp": float(p["t"]),
        }
        for p in item.get("points", [])
    ]


def last_minute(items: Iterable[dict[str, Any]], since: float) -> list[dict[str, Any]]:
    """Per metric name, the datapoints stamped since ``since``: latest, average, minimum, maximum, count."""
    rows: dict[str, dict[str, Any]] = {}
    for point in (p for item in items for p in unrolled(item) if p["timestamp"] >= since):
        row = rows.setdefault(point["metricName"], {"values": [], "unit": point["unit"], "timestamp": 0.0})
        row["values"].append(point["value"])
        if point["timestamp"] >= row["timestamp"]:
            row["timestamp"], row["latest"] = point["timestamp"], point["value"]
    return [
        {
            "metric_name": name,
            "unit": r["unit"],
            "latest": r["latest"],
            "average": sum(r["values"]) / len(r["values"]),
            "minimum": min(r["values"]),
            "maximum": max(r["values"]),
            "sample_count": len(r["values"]),
            "timestamp": r["timestamp"],
        }
        for name, r in sorted(rows.items())
    ]
