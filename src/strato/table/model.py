"""Value types shared by the table facade and its providers: conditions, updates, pages, ops."""

from __future__ import annotations

from decimal import Decimal

from ..core.errors import ValidationError
from ..core.hints import TYPE_CHECKING, Any, Generic, TypeVar
from .values import normalise  # loaded with the table package anyway; an import statement a write cost ~1 µs

if TYPE_CHECKING:
    from dataclasses import dataclass, field

    from . import Table
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

T = TypeVar("T")


def same(a: Any, b: Any) -> bool:
    """Equality as DynamoDB sees it: True is not 1, and 1 equals Decimal('1')."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    num = (int, Decimal)
    if isinstance(a, num) or isinstance(b, num):
        return isinstance(a, num) and isinstance(b, num) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Condition:
    """What the stored item must look like for a write to apply."""

    exists: bool | None = None  # True: must exist, False: must be absent, None: either
    equals: tuple[tuple[str, Any], ...] = ()  # attributes that must hold these values

    @classmethod
    def of(cls, if_absent: bool, if_exists: bool, if_match: dict | None) -> Condition | None:
        """The condition a write's ``if_absent`` / ``if_exists`` / ``if_match`` options ask for (None: none)."""
        if if_absent and (if_exists or if_match):
            raise ValidationError("if_absent cannot be combined with if_exists or if_match")
        if if_absent:
            return cls(exists=False)
        if if_match:
            if not isinstance(if_match, dict):
                raise ValidationError("if_match must be a dict of attribute -> expected value")
            return cls(exists=True, equals=tuple(normalise(if_match, "if_match").items()))
        if if_exists:
            return cls(exists=True)
        return None

    def holds(self, item: dict[str, Any] | None) -> bool:
        if self.exists is False:
            return item is None
        if item is None:
            return not self.exists and not self.equals
        return all(name in item and same(item[name], value) for name, value in self.equals)


@dataclass(frozen=True)
class Sort:
    """A condition on the sort key of a query: ``Sort.between("2024-01", "2024-02")``."""

    op: str
    values: tuple[Any, ...]

    @classmethod
    def eq(cls, value: Any) -> Sort:
        return cls("=", (value,))

    @classmethod
    def lt(cls, value: Any) -> Sort:
        return cls("<", (value,))

    @classmethod
    def lte(cls, value: Any) -> Sort:
        return cls("<=", (value,))

    @classmethod
    def gt(cls, value: Any) -> Sort:
        return cls(">", (value,))

    @classmethod
    def gte(cls, value: Any) -> Sort:
        return cls(">=", (value,))

    @classmethod
    def between(cls, low: Any, high: Any) -> Sort:
        """Inclusive on both ends, as DynamoDB's BETWEEN."""
        return cls("between", (low, high))

    @classmethod
    def begins_with(cls, prefix: str | bytes) -> Sort:
        return cls("begins_with", (prefix,))


@dataclass(frozen=True)
class Update:
    """Top-level attribute changes applied atomically: set, remove, and numeric add."""

    set: dict[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    add: dict[str, int | Decimal] = field(default_factory=dict)

    def attribute_names(self) -> list[str]:
        return [*self.set, *self.remove, *self.add]

    def apply(self, item: dict[str, Any] | None, key: dict[str, Any]) -> dict[str, Any]:
        """The item after this update (DynamoDB upserts: a missing item starts as its key)."""
        new = dict(item) if item is not None else dict(key)
        new.update(self.set)
        for name in self.remove:
            new.pop(name, None)
        for name, delta in self.add.items():
            current = new.get(name, 0)
            if isinstance(current, bool) or not isinstance(current, (int, Decimal)):
                raise ValidationError(f"cannot add to attribute {name!r}: it holds a {type(current).__name__}")
            total = current + delta
            if isinstance(total, Decimal) and total == total.to_integral_value():
                total = int(total)
            new[name] = total
        return new


@dataclass(frozen=True)
class TxOp:
    """One operation of a transaction, already validated by the facade."""

    kind: str  # put | update | delete | check
    table: Table
    key: dict[str, Any]
    item: dict[str, Any] | None = None
    update: Update | None = None
    condition: Condition | None = None


@dataclass
class Page(Generic[T]):
    """One page of results; pass ``cursor`` back to get the next one (None: no more)."""

    items: list[T]
    cursor: str | None = None

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
