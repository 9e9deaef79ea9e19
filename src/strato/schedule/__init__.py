"""Schedules in AWS EventBridge syntax: ``rate(5 minutes)``, ``cron(0 */6 * * ? *)``, ``at(2026-12-01T09:00:00)``.

Expressions are parsed when declared, so a typo fails at import with the reason, not at 3 a.m.
Times are UTC, as EventBridge evaluates them. ``next_after`` drives the local scheduler; on AWS the
deploy step creates an EventBridge schedule with the same expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..core.errors import ConfigurationError
from ..core.hints import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt
    from dataclasses import dataclass, field
    from datetime import UTC as UTC
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

_MONTHS = {
    m: i
    for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def __getattr__(name: str) -> object:
    """``UTC`` (for the local scheduler) without importing datetime when the module loads."""
    if name == "UTC":
        import datetime as dt

        return dt.UTC
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _bad(expression: str, why: str) -> ConfigurationError:
    return ConfigurationError(f"schedule {expression!r}: {why}")


@dataclass(frozen=True)
class Field:
    values: frozenset[int] = frozenset()
    any: bool = False  # '?' (day fields)
    last: bool = False  # 'L' in day-of-month
    last_weekday: bool = False  # 'LW'
    nearest_weekday: int | None = None  # 'nW'
    last_dow: int | None = None  # 'nL' in day-of-week: last <day> of the month
    nth_dow: tuple[int, int] | None = None  # 'd#n' in day-of-week


def _number(text: str, low: int, high: int, names: dict[str, int], expression: str, what: str) -> int:
    value = names.get(text.upper()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise _bad(expression, f"{what} value {text!r} is outside {low}-{high}")
    return value


def _parse_field(
    text: str, low: int, high: int, names: dict[str, int], expression: str, what: str, special: str = ""
) -> Field:
    if text == "?":
        if "?" not in special:
            raise _bad(expression, f"'?' is only allowed in day-of-month or day-of-week, not {what}")
        return Field(any=True)
    if "L" in special or "W" in special or "#" in special:
        upper = text.upper()
        if upper == "L" and "L" in special:
            return Field(last=True) if what == "day-of-month" else Field(values=frozenset({7}))
        if re.fullmatch(r"L-\d+", upper) and what == "day-of-month":
            raise _bad(
                expression,
                f"{text!r} (an offset from the last day of the month) is not supported by EventBridge; "
                "use L for the last day",
            )
        if upper == "LW" and "W" in special:
            return Field(last_weekday=True)
        match = re.fullmatch(r"(\d{1,2})W", upper)
        if match and "W" in special:
            return Field(nearest_weekday=_number(match.group(1), 1, 31, {}, expression, what))
        match = re.fullmatch(r"(\w{1,3})L", upper)
        if match and what == "day-of-week":
            return Field(last_dow=_number(match.group(1), 1, 7, _DAYS, expression, what))
        match = re.fullmatch(r"(\w{1,3})#([1-5])", upper)
        if match and "#" in special:
            return Field(nth_dow=(_number(match.group(1), 1, 7, _DAYS, expression, what), int(match.group(2))))
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise _bad(expression, f"{what} step {step_text!r} must be a positive integer")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start = _number(a, low, high, names, expression, what)
            end = _number(b, low, high, names, expression, what)
            if start > end:
                raise _bad(expression, f"{what} range {part!r} runs backwards")
        else:
            start = _number(part, low, high, names, expression, what)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return Field(values=frozenset(values))


@dataclass(frozen=True)
class Cron:
    minutes: Field
    hours: Field
    dom: Field
    months: Field
    dow: Field
    years: Field

    def day_matches(self, day: dt.date) -> bool:
        import calendar  # with locale, a few ms: only where a cron's day fields are evaluated
        import datetime as dt  # here, not at import: declaring a schedule needs none

        last = calendar.monthrange(day.year, day.month)[1]
        weekday = (day.isoweekday() % 7) + 1  # SUN=1 .. SAT=7
        if not self.dom.any:
            f = self.dom
            if f.last:
                return day.day == last
            if f.last_weekday:
                target = last - max(0, dt.date(day.year, day.month, last).isoweekday() - 5)
                return day.day == target
            if f.nearest_weekday is not None:
                return day.day == _nearest_weekday(day.year, day.month, f.nearest_weekday)
            return day.day in f.values
        f = self.dow
        if f.last_dow is not None:
            return weekday == f.last_dow and day.day + 7 > last
        if f.nth_dow is not None:
            return weekday == f.nth_dow[0] and (day.day - 1) // 7 + 1 == f.nth_dow[1]
        return weekday in f.values


def _nearest_weekday(year: int, month: int, target: int) -> int:
    import calendar
    import datetime as dt

    last = calendar.monthrange(year, month)[1]
    target = min(target, last)
    weekday = dt.date(year, month, target).isoweekday()
    if weekday == 6:  # Saturday: Friday before, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    if weekday == 7:  # Sunday: Monday after, unless that leaves the month
        return target + 1 if target < last else target - 2
    return target


@dataclass
class Schedule:
    """A parsed expression plus the handler it runs."""

    expression: str
    handler: Callable[..., Any] | None = None
    name: str = ""
    workflow: Any = None  # a workflow= schedule: the workflow it starts (schedule/workflow.py)
    input: Any = None
    kind: str = field(init=False)
    every: int = field(init=False, default=0)
    cron: Cron | None = field(init=False, default=None)
    at: dt.datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        text = self.expression if isinstance(self.expression, str) else ""
        if text != text.strip():
            # EventBridge Scheduler refuses the expression as given; stripping it here would let a
            # declaration that runs locally fail at deploy
            raise _bad(text, "leading or trailing whitespace is not allowed (EventBridge refuses it)")
        if match := _RATE.match(text):
            value, unit = int(match.group(1)), match.group(2)
            if value < 1:
                raise _bad(text, "the rate must be a positive integer")
            if (value == 1) != (not unit.endswith("s")):
                raise _bad(
                    text,
                    f"use the singular unit for 1 and the plural otherwise (rate({value} "
                    f"{unit.rstrip('s') if value == 1 else unit.rstrip('s') + 's'}))",
                )
            self.kind, self.every = "rate", value * _UNIT_S[unit.rstrip("s")]
        elif match := _AT.match(text):
            try:
                import datetime as dt

                self.at = dt.datetime.fromisoformat(match.group(1)).replace(tzinfo=dt.UTC)
            except ValueError as exc:
                raise _bad(text, f"not a valid date and time ({exc})") from None
            self.kind = "at"
        elif text.startswith("cron(") and text.endswith(")"):
            self.kind, self.cron = "cron", _parse_cron(text)
        else:
            raise _bad(
                text or repr(self.expression),
                "use rate(N unit), cron(min hour dom month dow year) or at(yyyy-mm-ddThh:mm:ss)",
            )

    def next_after(self, after: dt.datetime, started: dt.datetime | None = None) -> dt.datetime | None:
        """The first firing strictly after ``after`` (None when an ``at`` schedule has passed)."""
        import datetime as dt

        after = after.astimezone(dt.UTC)
        if self.kind == "at" and self.at is not None:  # __post_init__ sets `at` for an at() schedule
            return self.at if self.at > after else None
        if self.kind == "rate":
            origin = (started or after).astimezone(dt.UTC)
            periods = int((after - origin).total_seconds() // self.every) + 1
            return origin + dt.timedelta(seconds=periods * self.every)
        if self.cron is None:  # __post_init__ sets `cron` for a cron() schedule
            raise ValueError(f"schedule {self.expression!r} has no cron fields")
        return _next_cron(self.cron, after)


def _parse_cron(text: str) -> Cron:
    parts = text[5:-1].split()
    if len(parts) != 6:
        raise _bad(
            text,
            f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got {len(parts)}",
        )
    minutes = _parse_field(parts[0], 0, 59, {}, text, "minutes")
    hours = _parse_field(parts[1], 0, 23, {}, text, "hours")
    dom = _parse_field(parts[2], 1, 31, {}, text, "day-of-month", "?LW")
    months = _parse_field(parts[3], 1, 12, _MONTHS, text, "month")
    dow = _parse_field(parts[4], 1, 7, _DAYS, text, "day-of-week", "?L#")
    years = _parse_field(parts[5], 1970, 2199, {}, text, "year")
    if dom.any == dow.any:
        raise _bad(text, "exactly one of day-of-month and day-of-week must be '?'")
    return Cron(minutes, hours, dom, months, dow, years)


def _next_cron(cron: Cron, after: dt.datetime) -> dt.datetime | None:
    import datetime as dt

    start = (after + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    day = start.date()
    limit = dt.date(2199, 12, 31)
    while day <= limit:
        if day.year not in cron.years.values:
            later = [y for y in cron.years.values if y > day.year]
            if not later:
                return None
            day = dt.date(min(later), 1, 1)
            continue
        if day.month not in cron.months.values:
            day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            continue
        if cron.day_matches(day):
            earliest = (start.hour, start.minute) if day == start.date() else (0, 0)
            for hour in sorted(h for h in cron.hours.values if h >= earliest[0]):
                for minute in sorted(cron.minutes.values):
                    if (hour, minute) >= earliest:  # the first slot at or after start: no datetime per try
                        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
        day += dt.timedelta(days=1)
    return None
