"""EventBridge scheduled events, as a schedule's target Lambda receives them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..core.ids import new_uuid


def scheduled_event(name: str, fired_at: dt.datetime, region: str, account: str) -> dict[str, Any]:
    """The event a scheduled Lambda receives (EventBridge 'Scheduled Event')."""
    return {
        "version": "0",
        "id": new_uuid(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": fired_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{name}"],
        "detail": {},
    }
