"""A table's key schema: partition/sort attributes, secondary indexes and the TTL attribute.

Keys are typed as DynamoDB requires (S, N or B). :func:`sortable` turns a key value into bytes
whose byte order is DynamoDB's order for that type, so the SQLite provider can keep every key
in a BLOB column and let ``memcmp`` do the sorting, range conditions and ``begins_with``.
"""

from __future__ import annotations

from decimal import Decimal

from ..core.errors import ValidationError, utf8
from ..core.hints import TYPE_CHECKING, Any
from .values import SMALL_INT, number

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # dataclasses would cost a Lambda cold start ~10 ms: see core/record.py
    from ..core.record import dataclass, field

_TYPE_ALIASES = {
    "s": "S",
    "str": "S",
    "string": "S",
    "n": "N",
    "num": "N",
    "number": "N",
    "int": "N",
    "float": "N",
    "b": "B",
    "bytes": "B",
    "binary": "B",
}
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024


@dataclass(frozen=True)
class KeyAttr:
    name: str
    type: str = "S"  # S | N | B

    @classmethod
    def parse(cls, spec: str | tuple[str, Any] | KeyAttr) -> KeyAttr:
        """``"id"``, ``"ts:number"``, ``("ts", int)`` or ``("blob", bytes)``."""
        if isinstance(spec, KeyAttr):
            return spec
        if isinstance(spec, tuple):
            name, kind = spec
            kind = {str: "S", int: "N", float: "N", Decimal: "N", bytes: "B"}.get(kind, kind)
        elif isinstance(spec, str):
            name, _, kind = spec.partition(":")
            kind = kind or "S"
        else:
            raise ValidationError(f"a key is declared as 'name' or 'name:type', not {spec!r}")
        resolved = _TYPE_ALIASES.get(str(kind).lower())
        if not name or resolved is None:
            raise ValidationError(f"key {spec!r}: type must be string, number or bytes")
        return cls(name, resolved)

    def check(self, value: Any, role: str, limit: int) -> Any:
        """Validate a key value and return it normalised."""
        kind = type(value)
        if kind is str and self.type == "S" and 0 < len(value) <= limit and value.isascii():
            return value  # ASCII: one byte per character, no lone surrogate
        if kind is int and self.type == "N" and -SMALL_INT < value < SMALL_INT:
            return value  # already normal (bool is not int by type)
        if value is None:
            raise ValidationError(f"{role} {self.name!r} is missing")
        if self.type == "S":
            if not isinstance(value, str):
                raise ValidationError(f"{role} {self.name!r} must be a string, got {type(value).__name__}")
            size = len(utf8(value, f"{role} {self.name!r}"))
        elif self.type == "B":
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise ValidationError(f"{role} {self.name!r} must be bytes, got {type(value).__name__}")
            value = bytes(value)
            size = len(value)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
                raise ValidationError(f"{role} {self.name!r} must be a number, got {type(value).__name__}")
            return number(value, f"{role} {self.name!r}")
        if size == 0:
            raise ValidationError(f"{role} {self.name!r} must not be empty")
        if size > limit:
            raise ValidationError(f"{role} {self.name!r} is {size} bytes; DynamoDB allows at most {limit}")
        return value


@dataclass(frozen=True)
class Index:
    name: str
    key: KeyAttr
    sort: KeyAttr | None = None


@dataclass(frozen=True)
class Schema:
    table: str
    key: KeyAttr
    sort: KeyAttr | None = None
    indexes: dict[str, Index] = field(default_factory=dict)
    ttl: str | None = None

    def key_of(self, key: Any) -> dict[str, Any]:
        """A primary key from a scalar, a (partition, sort) tuple or a dict (extra fields ignored)."""
        sort = self.sort
        if type(key) is tuple and sort is not None and len(key) == 2:  # the common form, without the detour
            return {
                self.key.name: self.key.check(key[0], "partition key", MAX_PARTITION_KEY_BYTES),
                sort.name: sort.check(key[1], "sort key", MAX_SORT_KEY_BYTES),
            }
        if isinstance(key, dict):
            parts = {self.key.name: key.get(self.key.name)}
            if self.sort:
                parts[self.sort.name] = key.get(self.sort.name)
        elif isinstance(key, tuple):
            if not self.sort or len(key) != 2:
                raise ValidationError(f"table {self.table!r}: a tuple key needs (partition, sort) and a sort key")
            parts = {self.key.name: key[0], self.sort.name: key[1]}
        else:
            if self.sort:
                raise ValidationError(
                    f"table {self.table!r} has a sort key {self.sort.name!r}: pass (partition, sort) or a dict"
                )
            parts = {self.key.name: key}
        out = {self.key.name: self.key.check(parts[self.key.name], "partition key", MAX_PARTITION_KEY_BYTES)}
        if self.sort:
            out[self.sort.name] = self.sort.check(parts[self.sort.name], "sort key", MAX_SORT_KEY_BYTES)
        return out

    def check_item(self, item: dict[str, Any]) -> None:
        """Key and index attributes of a normalised item have the declared types."""
        self.key.check(item.get(self.key.name), "partition key", MAX_PARTITION_KEY_BYTES)  # as key_of(item)
        if self.sort:
            self.sort.check(item.get(self.sort.name), "sort key", MAX_SORT_KEY_BYTES)
        for index in self.indexes.values():
            for attr in (index.key, index.sort):
                if attr is not None and attr.name in item:
                    limit = MAX_PARTITION_KEY_BYTES if attr is index.key else MAX_SORT_KEY_BYTES
                    attr.check(item[attr.name], f"index {index.name!r} key", limit)

    def key_names(self) -> tuple[str, ...]:
        return (self.key.name, self.sort.name) if self.sort else (self.key.name,)

    def expires_at(self, item: dict[str, Any]) -> float | None:
        """The item's TTL as epoch seconds, or None (DynamoDB ignores a non-number TTL)."""
        if self.ttl is None:
            return None
        value = item.get(self.ttl)
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            return None
        return float(value)

    def describe(self) -> dict[str, Any]:
        """A plain description, used to notice when a declaration changes under stored data."""
        return {
            "key": [self.key.name, self.key.type],
            "sort": [self.sort.name, self.sort.type] if self.sort else None,
            "indexes": {
                n: [[i.key.name, i.key.type], [i.sort.name, i.sort.type] if i.sort else None]
                for n, i in sorted(self.indexes.items())
            },
            "ttl": self.ttl,
        }


def sortable(value: Any) -> bytes:
    """Bytes whose order is DynamoDB's order for a normalised key value."""
    kind = type(value)
    if kind is str:
        return value.encode("utf-8")
    if kind is int:
        return _sortable_int(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    return _sortable_number(value)


_INVERT = bytes.maketrans(b"0123456789", b"9876543210")


def _sortable_int(value: int) -> bytes:
    if value == 0:
        return b"\x01"
    raw = str(abs(value))
    return _sortable_parts(value < 0, len(raw) - 1, raw.rstrip("0").encode())


def _sortable_number(value: Decimal | int) -> bytes:
    if not isinstance(value, Decimal):
        return _sortable_int(value)
    if value.is_zero():
        return b"\x01"
    sign, digits, _ = value.normalize().as_tuple()
    return _sortable_parts(bool(sign), value.adjusted(), bytes(48 + d for d in digits))


def _sortable_parts(negative: bool, exponent: int, text: bytes) -> bytes:
    # zero < positives ordered by (exponent, digits); negatives reverse both and end high.
    exponent += 200  # DynamoDB exponents are within -130..125
    if not negative:
        return b"\x02" + exponent.to_bytes(2, "big") + text
    return b"\x00" + (65535 - exponent).to_bytes(2, "big") + text.translate(_INVERT) + b"\xff"
