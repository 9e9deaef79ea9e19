"""Backups: ``app.backups(every="6 hours", keep_days=35)`` declares an AWS Backup plan over the app's tables
and buckets (deploy.py synthesises it); locally ``strato backup`` / ``strato restore`` snapshot and bring
back the whole data directory (local.py). Tables keep point-in-time recovery either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..core.errors import ConfigurationError
from ..core.hints import TYPE_CHECKING

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

__all__ = ["BackupPlan", "schedule_cron"]

#: what a plan selects: the kinds whose CloudFormation resources AWS Backup can protect
KINDS = ("table", "bucket")
MAX_KEEP_DAYS = 36_500  # AWS Backup keeps recovery points up to 100 years
_EVERY = re.compile(r"^\s*(\d+)\s+(hour|hours|day|days|week|weeks)\s*$")
BACKUP_HOUR_UTC = 5  # AWS Backup's default window starts at 05:00 UTC (its default cron(0 5 ? * * *))


def schedule_cron(every: str) -> str:
    """``every`` as the UTC cron AWS Backup takes: "N hours" (N dividing 24, so runs stay evenly spaced
    across midnight), "1 day", "1 week" / "7 days", or a ``cron(...)`` given as is. AWS Backup refuses jobs
    less than 60 minutes apart, hence no minutes."""
    if not isinstance(every, str):
        raise ConfigurationError('every is a string: "6 hours", "1 day", "1 week" or "cron(...)"')
    text = every.strip()
    if text.startswith("cron(") and text.endswith(")"):
        from ..schedule import Schedule

        try:
            Schedule(text)
        except ConfigurationError as exc:
            raise ConfigurationError(f"backups every={every!r}: {exc}") from None
        return text
    match = _EVERY.match(text)
    if not match:
        raise ConfigurationError(
            f'backups every={every!r}: use "N hours" (1 to 24, dividing 24), "1 day", "1 week" or "cron(...)"'
            " (AWS Backup runs at most hourly)"
        )
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    if unit == "week":
        count, unit = count * 7, "day"
    if unit == "hour":
        if count == 24:
            count, unit = 1, "day"
        elif count < 1 or 24 % count:
            raise ConfigurationError(f"backups every {count} hours: use a number of hours dividing 24 (1 to 12)")
        else:
            return "cron(0 * * * ? *)" if count == 1 else f"cron(0 */{count} * * ? *)"
    if count == 1:
        return f"cron(0 {BACKUP_HOUR_UTC} * * ? *)"
    if count == 7:
        return f"cron(0 {BACKUP_HOUR_UTC} ? * SUN *)"
    raise ConfigurationError(f"backups every {count} days: use 1 day or 1 week (or a cron(...) expression)")


@dataclass
class BackupPlan:
    """Declared by ``app.backups``; covers every table and bucket of the app but those in ``exclude``."""

    every: str
    keep_days: int
    cron: str = ""
    exclude: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def declare(cls, every: str, keep_days: int, exclude: Iterable[str] = ()) -> BackupPlan:
        if isinstance(keep_days, bool) or not isinstance(keep_days, int) or not 1 <= keep_days <= MAX_KEEP_DAYS:
            raise ConfigurationError(f"keep_days is a whole number of days, 1 to {MAX_KEEP_DAYS}")
        if isinstance(exclude, str):
            raise ConfigurationError("exclude is a list of table / bucket names")
        return cls(every, keep_days, schedule_cron(every), frozenset(exclude))

    def covers(self, kind: str, name: str) -> bool:
        return kind in KINDS and name not in self.exclude

    def per_day(self) -> float:
        """How many recovery points a day the schedule makes (for ``strato cost``)."""
        match = re.match(r"^cron\(0 \*/(\d+) ", self.cron)
        if match:
            return 24 / int(match.group(1))
        if self.cron.startswith("cron(0 * "):
            return 24.0
        if " ? * SUN " in self.cron:
            return 1 / 7
        return 1.0

    def retained(self) -> int:
        """Recovery points held at once in the steady state: ``keep_days`` of the schedule."""
        return max(1, round(self.per_day() * self.keep_days))
