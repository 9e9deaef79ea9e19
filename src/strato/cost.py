"""``strato cost``: what the usage recorded locally would cost per month on AWS.

Prices are AWS's public list prices for us-east-1 as of 2026-11-01, without free tiers (override any
of them with ``--prices prices.json``, same keys). Request-based usage is multiplied by how many times
the recorded run happens per month; storage is what the local data holds now, for a whole month.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .core.usage import read
from .cost_storage import PRICES as _STORAGE_PRICES

PRICES_AS_OF = "2026-11-01"
#: (service, unit) -> (USD per unit, what the unit is)
PRICES: dict[tuple[str, str], tuple[float, str]] = {
    ("dynamodb", "write_units"): (0.625 / 1e6, "on-demand write request unit (1 KB)"),
    ("dynamodb", "read_units"): (0.125 / 1e6, "on-demand read request unit (4 KB, strongly consistent)"),
    ("dynamodb", "storage_gb_month"): (0.25, "GB-month of table storage"),
    ("s3", "class_a_requests"): (0.005 / 1000, "PUT, COPY, POST or LIST request"),
    ("s3", "class_b_requests"): (0.0004 / 1000, "GET or HEAD request"),
    ("s3", "storage_gb_month"): (0.023, "GB-month of S3 Standard storage"),
    ("sqs", "requests"): (0.40 / 1e6, "standard queue request (64 KB chunk)"),
    ("sqs_fifo", "requests"): (0.50 / 1e6, "FIFO queue request (64 KB chunk)"),
    ("sns", "publishes"): (0.50 / 1e6, "publish (64 KB chunk)"),
    ("sns", "http_deliveries"): (0.60 / 1e6, "HTTP(S) delivery"),
    ("sns", "email_deliveries"): (2.00 / 100_000, "email delivery"),
    ("sns", "sms_deliveries"): (0.00581, "SMS to a US number (before carrier fees)"),
    ("lambda", "invocations"): (0.20 / 1e6, "request"),
    ("lambda", "gb_seconds"): (0.0000166667, "GB-second (x86)"),
    # provisioned concurrency, billed for as long as it is configured (https://aws.amazon.com/lambda/pricing/)
    ("lambda", "provisioned_gb_seconds_x86_64"): (0.0000041667, "GB-second of provisioned concurrency (x86)"),
    ("lambda", "provisioned_gb_seconds_arm64"): (0.0000033334, "GB-second of provisioned concurrency (Arm)"),
    ("apigateway", "http_requests"): (1.00 / 1e6, "HTTP API request"),
    ("apigateway", "ws_messages"): (1.00 / 1e6, "WebSocket message (32 KB)"),
    ("apigateway", "ws_connection_minutes"): (0.25 / 1e6, "WebSocket connection minute"),
    # sites: what viewers ask of the distribution (cache misses' S3 GETs are left out: CloudFront caches)
    ("cloudfront", "https_requests"): (0.0100 / 10_000, "HTTPS request (United States, Mexico, Canada)"),
    ("cloudfront", "data_out_gb"): (0.085, "GB to viewers (United States, Mexico, Canada; first 10 TB)"),
    # workflows, https://aws.amazon.com/step-functions/pricing/ (Express duration: tiers below)
    ("stepfunctions", "state_transitions"): (0.025 / 1000, "Standard workflow state transition (incl. retries)"),
    ("stepfunctions_express", "requests"): (1.00 / 1e6, "Express workflow request (execution started)"),
    ("stepfunctions_express", "gb_seconds"): (0.00001667, "Express GB-second, first 1,000 GB-hours"),
}
#: (service, unit) -> the further tiers of a tiered price: (GB-seconds from which it applies, USD per unit, what)
TIERS: dict[tuple[str, str], list[tuple[float, float, str]]] = {
    ("stepfunctions_express", "gb_seconds"): [
        (1_000 * 3600, 0.00000833, "Express GB-second, next 4,000 GB-hours"),
        (5_000 * 3600, 0.00000456, "Express GB-second, over 5,000 GB-hours"),
    ],
}
PRICES.update(_STORAGE_PRICES)  # storage classes and AWS Backup storage: cost_storage.py


@dataclass
class Line:
    service: str
    unit: str
    quantity: float
    price: float
    description: str

    @property
    def monthly(self) -> float:
        return self.quantity * self.price

    def as_dict(self) -> dict[str, Any]:
        """The line as ``strato cost --json`` and the console show it."""
        return {
            "service": self.service,
            "unit": self.unit,
            "quantity": self.quantity,
            "usd_per_unit": self.price,
            "monthly_usd": self.monthly,
            "description": self.description,
        }


def polled(queues: list[Any]) -> dict[str, int]:
    """The consumed queues' event source mappings by kind, for ``estimate``'s idle polling lines."""
    consumed = [q for q in queues if q.consumers]
    return {"sqs": sum(not q.fifo for q in consumed), "sqs_fifo": sum(q.fifo for q in consumed)}


def storage_of(app: Any) -> dict[str, Any]:
    """``estimate``'s ``transitions`` and ``backup`` arguments for ``app``'s buckets and backup plan."""
    buckets = app.of_kind("bucket")
    transitions = {b.name: b.transitions for b in buckets if b.transitions}
    plan = getattr(app, "backup_plan", None)
    backup = None
    if plan is not None:
        tables = [f"t_{t.stored_as}_{t.name}" for t in app.of_kind("table") if plan.covers("table", t.name)]
        backup = (plan, tables, [b.name for b in buckets if plan.covers("bucket", b.name)])
    return {"transitions": transitions, "backup": backup}


def storage(
    data_dir: Path,
    transitions: dict[str, dict[int, str]] | None = None,
    backup: tuple[Any, list[str], list[str]] | None = None,
) -> dict[tuple[str, str], float]:
    """GB held now by the local tables and buckets (billed as a month of storage each): bucket bytes in the
    storage class their lifecycle ``transitions`` ({bucket: {days: class}}) give them at their age, and
    the AWS Backup storage of ``backup`` = (plan, covered local table names, covered bucket names)."""
    from . import cost_storage

    out: dict[tuple[str, str], float] = {}
    tables = cost_storage.table_bytes(data_dir)
    if (Path(data_dir) / "tables.db").exists():
        out[("dynamodb", "storage_gb_month")] = sum(tables.values()) / 1024**3
    buckets, per_bucket = cost_storage.bucket_storage(data_dir, transitions, time.time())
    out.update(buckets)
    if backup is not None:
        out.update(cost_storage.backup_storage(tables, per_bucket, *backup))
    return out


#: the ReceiveMessage calls of one idle SQS event source mapping in a 30-day month: Lambda long-polls (20 s)
#: with five concurrent batches when traffic is low ("can optimize to as few as 2"), per
#: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html; five is the estimate's upper bound
ESM_POLLERS = 5
ESM_IDLE_REQUESTS = ESM_POLLERS * 30 * 86_400 // 20
MONTH_SECONDS = 30 * 86_400


@dataclass
class Provisioned:
    """A function's provisioned concurrency as deployed: its minimum is billed around the clock."""

    function: str
    environments: int
    memory_mb: int
    architecture: str


def estimate(
    data_dir: Path,
    runs_per_month: float = 1.0,
    prices: dict[str, float] | None = None,
    polled: dict[str, int] | None = None,
    transitions: dict[str, dict[int, str]] | None = None,
    backup: tuple[Any, list[str], list[str]] | None = None,
    provisioned: list[Provisioned] | None = None,
) -> list[Line]:
    """Lines of the monthly bill: recorded usage x ``runs_per_month``, stored bytes, and the idle polling of
    each queue consumer's event source mapping (``polled``: {"sqs": standard queues, "sqs_fifo": FIFO ones}),
    which runs around the clock whatever the load (the local worker's own polls are not counted).
    ``transitions`` and ``backup``: see ``storage``."""
    table = dict(PRICES)
    for key, value in (prices or {}).items():
        service, _, unit = key.partition(".")
        described = table.get((service, unit), (0.0, unit))[1]
        table[(service, unit)] = (float(value), described)
    lines = []
    for (service, unit), amount in sorted(read(data_dir).items()):
        price, description = table.get((service, unit), (0.0, f"{unit} (no price known)"))
        lines += _tiered(service, unit, amount * runs_per_month, price, description, overridden=bool(prices))
    for (service, unit), amount in sorted(storage(data_dir, transitions, backup).items()):
        price, description = table[(service, unit)]
        lines.append(Line(service, unit, amount, price, description))
    for service, queues in sorted((polled or {}).items()):
        if queues:
            price = table[(service, "requests")][0]
            described = f"event source mapping polling, {queues} consumer queue(s), idle ({ESM_POLLERS} long polls)"
            lines.append(Line(service, "esm_polling", queues * ESM_IDLE_REQUESTS, price, described))
    for kept in provisioned or []:  # the minimum; what autoscaling adds above it depends on the load
        unit = f"provisioned_gb_seconds_{kept.architecture}"
        price = table[("lambda", unit)][0]
        described = (
            f"provisioned concurrency of {kept.function}: {kept.environments} x {kept.memory_mb} MB "
            f"({kept.architecture}), all month"
        )
        quantity = kept.environments * kept.memory_mb / 1024 * MONTH_SECONDS
        lines.append(Line("lambda", unit, quantity, price, described))
    return lines


def _tiered(service: str, unit: str, quantity: float, price: float, description: str, overridden: bool) -> list[Line]:
    """One line, or one per price tier the month's quantity reaches (a ``--prices`` override of the unit
    applies to all of it)."""
    tiers = [] if overridden and price != PRICES.get((service, unit), (None,))[0] else TIERS.get((service, unit), [])
    bounds = [(0.0, price, description), *tiers]
    out = []
    for i, (start, tier_price, what) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else float("inf")
        if quantity > start or i == 0:
            out.append(Line(service, unit, max(0.0, min(quantity, end) - start), tier_price, what))
    return out


def load_prices(path: str | None) -> dict[str, float]:
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) for v in data.values()):
        raise ValueError('a prices file is {"service.unit": usd_per_unit, ...}, e.g. {"lambda.invocations": 2e-7}')
    return data


def summary(lines: list[Line], users: int | None) -> dict[str, Any]:
    by_service: dict[str, float] = {}
    for line in lines:
        by_service[line.service] = by_service.get(line.service, 0.0) + line.monthly
    total = sum(by_service.values())
    out: dict[str, Any] = {
        "prices_as_of": PRICES_AS_OF,
        "region": "us-east-1",
        "by_service": by_service,
        "total_monthly_usd": total,
    }
    if users:
        out["per_1000_users_usd"] = total / users * 1000
    return out


def usd(amount: float) -> str:
    """Dollars a person can read: cents above a dollar, and small amounts to their first two significant
    digits instead of 0.0000 (a month of a small app can cost $0.000042)."""
    if amount == 0:
        return "0.00"
    if abs(amount) >= 1:
        return f"{amount:,.2f}"
    digits = max(4, -int(f"{abs(amount):e}".split("e")[1]) + 1)
    return f"{amount:.{digits}f}"
