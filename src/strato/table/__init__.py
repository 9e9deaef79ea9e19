"""The table primitive: documents under a partition (and optional sort) key.

``Table`` is the one API applications use. It validates keys, values, sizes and options once,
so every provider sees the same normalised input and raises the same errors; providers
(``local.py`` on SQLite, ``aws.py`` on DynamoDB) only store and fetch.

Semantics follow DynamoDB, with one deliberate strengthening: an item whose TTL has passed is
absent everywhere (reads, queries, conditions) even before the provider deletes it, because
DynamoDB may take up to 48 hours to delete an expired item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from ..core import clock
from ..core.context import Context
from ..core.errors import ValidationError
from ..core.hints import Any, overload
from ..core.permissions import requires
from ..core.resource import Resource
from .model import Condition, Page, Sort, Update
from .schema import MAX_SORT_KEY_BYTES, Index, KeyAttr, Schema, sortable
from .spi import ACTIONS, CAPABILITIES, TableBackend
from .transaction import Transaction
from .values import check_size, normalise, normalise_sized, present_fresh, present_item, present_put

__all__ = ["CAPABILITIES", "Condition", "Page", "Sort", "Table", "TableBackend", "Transaction", "Update"]

MAX_BATCH_GET = 100  # DynamoDB BatchGetItem; the facade splits larger requests


class Table(Resource[TableBackend]):
    """A table declared on an App. Thread-safe; every method is one round trip or one transaction."""

    kind = "table"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES
    _signing_key: bytes | None = None  # the cursor key, read on first use

    def __init__(
        self,
        ctx: Context,
        name: str,
        key: str | tuple | KeyAttr,
        sort: str | tuple | KeyAttr | None = None,
        *,
        indexes: dict[str, Any] | None = None,
        ttl: str | None = None,
        decimals: bool = False,
        provider: str | None = None,
        allow: Any = None,
    ) -> None:
        super().__init__(ctx, name, provider, allow)
        self.decimals = decimals
        #: whose name the stored table carries: a kv namespace or cache keeps its entries in a table named
        #: like the kv or cache (STRATO_KV_<NAME>, ``kv_<name>`` locally)
        self.stored_as = "table"
        self.stream_handlers: list[Any] = []
        parsed = {}
        for index_name, spec in (indexes or {}).items():
            parts = (
                spec
                if isinstance(spec, (list, tuple)) and len(spec) == 2 and not isinstance(spec[1], type)
                else (spec, None)
            )
            parsed[index_name] = Index(
                index_name, KeyAttr.parse(parts[0]), KeyAttr.parse(parts[1]) if parts[1] is not None else None
            )
        self.schema = Schema(name, KeyAttr.parse(key), KeyAttr.parse(sort) if sort else None, parsed, ttl)

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def physical_name(self) -> str:
        """The DynamoDB table name (``STRATO_<KIND>_<NAME>`` from the template, else app-stage-name)."""
        return self.config.physical_name(self.stored_as, self.name)

    def _item(self, item: Any) -> dict[str, Any]:
        clean, size = normalise_sized(item)
        self.schema.check_item(clean)
        check_size(clean, self.name, size)
        return clean

    @overload
    def _out(self, item: dict[str, Any]) -> dict[str, Any]: ...
    @overload
    def _out(self, item: None) -> None: ...
    @overload
    def _out(self, item: dict[str, Any] | None) -> dict[str, Any] | None: ...
    def _out(self, item: dict[str, Any] | None) -> dict[str, Any] | None:
        return present_item(item, self.decimals)

    def _update(self, set: dict | None, remove: Sequence[str] | None, add: dict | None) -> Update:
        update = Update(
            set=normalise(set or {}, "set"),
            remove=tuple(remove or ()),
            add={k: normalise(v, f"add.{k}") for k, v in (add or {}).items()},
        )
        names = update.attribute_names()
        if not names:
            raise ValidationError("update needs at least one of set, remove or add")
        if len(set_ := {*names}) != len(names):
            raise ValidationError(f"an attribute appears in more than one of set/remove/add: {sorted(names)}")
        for name in set_:
            if not isinstance(name, str) or not name:
                raise ValidationError(f"attribute names must be non-empty strings, got {name!r}")
            if name in self.schema.key_names():
                raise ValidationError(f"cannot update {name!r}: it is part of the key of table {self.name!r}")
        for name, delta in update.add.items():
            if isinstance(delta, bool) or not isinstance(delta, (int, Decimal)):
                raise ValidationError(f"add.{name} must be a number, got {type(delta).__name__}")
        return update

    # -- single items ---------------------------------------------------------------------------
    @requires("read")
    def get(self, key: Any) -> dict[str, Any] | None:
        """The item with this key, or None (also None once its TTL has passed)."""
        backend = self.backend
        if not self.decimals:
            floats = getattr(backend, "get_floats", None)  # a provider that can decode straight to floats
            if floats is not None:
                return floats(self.schema.key_of(key), clock.now())
        # a provider returns a fresh item (decoded for this call), so it is presented in place
        return present_fresh(backend.get(self.schema.key_of(key), clock.now()), self.decimals)

    @requires("write")
    def put(self, item: dict[str, Any], *, if_absent: bool = False, if_match: dict | None = None) -> dict[str, Any]:
        """Store an item whole. ``if_absent`` / ``if_match`` make it conditional (ConditionFailed)."""
        clean = self._item(item)
        cond = Condition.of(if_absent, False, if_match) if if_absent or if_match else None
        if cond:
            self._need("conditions")
        self.backend.put(clean, cond, clock.now())
        return present_put(clean, item, self.decimals)

    @requires("write")
    def update(
        self,
        key: Any,
        *,
        set: dict[str, Any] | None = None,
        remove: Sequence[str] | None = None,
        add: dict[str, int | float | Decimal] | None = None,
        if_exists: bool = False,
        if_match: dict | None = None,
    ) -> dict[str, Any]:
        """Change attributes atomically and return the new item. Upserts unless ``if_exists``."""
        cond = Condition.of(False, if_exists, if_match)
        if cond:
            self._need("conditions")
        new = self.backend.update(self.schema.key_of(key), self._update(set, remove, add), cond, clock.now())
        return self._out(new)

    @requires("write")
    def delete(self, key: Any, *, if_exists: bool = False, if_match: dict | None = None) -> dict[str, Any] | None:
        """Delete and return the old item (None if there was none)."""
        cond = Condition.of(False, if_exists, if_match)
        if cond:
            self._need("conditions")
        return self._out(self.backend.delete(self.schema.key_of(key), cond, clock.now()))

    # -- queries --------------------------------------------------------------------------------
    @requires("read")
    def query(
        self,
        partition: Any,
        *,
        sort: Sort | None = None,
        index: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[dict[str, Any]]:
        """Items of one partition (of the table or of an index) in sort-key order."""
        idx = None
        if index is not None:
            self._need("indexes")
            idx = self.schema.indexes.get(index)
            if idx is None:
                known = sorted(self.schema.indexes)
                raise ValidationError(f"table {self.name!r} has no index {index!r}; it has {known}")
        key_attr = idx.key if idx else self.schema.key
        sort_attr = idx.sort if idx else self.schema.sort
        pvalue = key_attr.check(partition, "partition key", 2048)
        if sort is not None:
            sort = self._sort(sort, sort_attr)
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise ValidationError(f"limit must be a positive integer, got {limit!r}")
        after = self._decode_cursor(cursor, idx, pvalue) if cursor else None
        rows = self.backend.query(pvalue, sort, idx, newest_first, limit + 1 if limit else None, after, clock.now())
        next_cursor = None
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            next_cursor = self._encode_cursor(rows[-1], idx, pvalue)
        return Page([self._out(r) for r in rows], next_cursor)

    def iterate(self, partition: Any, *, page_size: int = 100, **options: Any) -> Iterable[dict[str, Any]]:
        """Every item of a partition (same options as :meth:`query`), fetched ``page_size`` at a time."""
        cursor = None
        while True:
            page = self.query(partition, cursor=cursor, limit=page_size, **options)
            yield from page.items
            if not page.cursor:
                return
            cursor = page.cursor

    def _sort(self, sort: Sort, attr: KeyAttr | None) -> Sort:
        if not isinstance(sort, Sort):
            raise ValidationError("sort must be a strato.Sort condition, e.g. Sort.begins_with('2024-')")
        if attr is None:
            raise ValidationError(f"table {self.name!r} (or that index) has no sort key to put a condition on")
        if sort.op == "begins_with" and attr.type == "N":
            raise ValidationError("begins_with works on string or bytes sort keys, not numbers")
        if sort.op == "begins_with":
            prefix = sort.values[0]
            ok = isinstance(prefix, str) if attr.type == "S" else isinstance(prefix, (bytes, bytearray))
            if not ok:
                raise ValidationError(f"begins_with prefix must match the sort key type {attr.type}")
            return Sort(sort.op, (bytes(prefix) if attr.type == "B" else prefix,))
        values = tuple(attr.check(v, "sort condition", MAX_SORT_KEY_BYTES) for v in sort.values)
        if sort.op == "between" and sortable(values[0]) > sortable(values[1]):
            raise ValidationError("between(low, high): low must not be greater than high")
        return Sort(sort.op, values)

    def _cursor_attrs(self, idx: Index | None) -> list[KeyAttr]:
        attrs = [self.schema.key] + ([self.schema.sort] if self.schema.sort else [])
        if idx is not None:
            attrs += [idx.key] + ([idx.sort] if idx.sort else [])
        return attrs

    def _cursor_scope(self, idx: Index | None, partition: Any) -> tuple[bytes, ...]:
        """What a cursor is bound to: this app, table, index and partition (typed, normalised)."""
        attr = idx.key if idx else self.schema.key
        index = idx.name if idx else ""
        return (self.ctx.app_name.encode(), self.name.encode(), index.encode(), attr.type.encode(), sortable(partition))

    def _cursor_key(self) -> bytes:
        key = self._signing_key
        if key is None:
            from ..runtime.secrets import cursor_key

            key = self._signing_key = cursor_key(self.provider, self.config.data_dir)
        return key

    def _encode_cursor(self, item: dict, idx: Index | None, partition: Any) -> str:
        import base64  # paging cursors only: kept out of a cold start

        from .cursor import seal

        parts = []
        for attr in self._cursor_attrs(idx):
            value = item[attr.name]
            if attr.type == "B":
                value = base64.b64encode(value).decode()
            elif attr.type == "N":
                value = str(value)
            parts.append(value)
        return seal(self._cursor_key(), self._cursor_scope(idx, partition), parts)

    def _decode_cursor(self, cursor: str, idx: Index | None, partition: Any) -> dict[str, Any]:
        import base64

        from .cursor import open_cursor

        try:
            parts = open_cursor(self._cursor_key(), self._cursor_scope(idx, partition), cursor)
            attrs = self._cursor_attrs(idx)
            if not isinstance(parts, list) or len(parts) != len(attrs):
                raise ValueError("cursor belongs to another query")
            after = {}
            for attr, value in zip(attrs, parts, strict=True):
                if attr.type == "B":
                    value = base64.b64decode(value)
                elif attr.type == "N":
                    value = Decimal(value)
                after[attr.name] = attr.check(value, "cursor", 2048)
            return after
        except (ValueError, TypeError, KeyError, ValidationError) as exc:
            raise ValidationError(
                f"invalid cursor for table {self.name!r}: pass back the cursor a query returned ({exc})"
            ) from None

    # -- batches and transactions ---------------------------------------------------------------
    @requires("read")
    def batch_get(self, keys: Sequence[Any]) -> list[dict[str, Any] | None]:
        """Items for many keys, in the order asked, None where missing."""
        self._need("batch")
        wanted = [self.schema.key_of(k) for k in keys]
        names = self.schema.key_names()
        found: dict[tuple, dict] = {}
        now = clock.now()
        for start in range(0, len(wanted), MAX_BATCH_GET):
            chunk = list({tuple(k[n] for n in names): k for k in wanted[start : start + MAX_BATCH_GET]}.values())
            for item in self.backend.batch_get(chunk, now):
                found[tuple(item[n] for n in names)] = item
        return [self._out(found.get(tuple(k[n] for n in names))) for k in wanted]

    @requires("write")
    def batch_put(self, items: Iterable[dict[str, Any]]) -> int:
        """Store many items (not atomic: use a transaction for all-or-nothing). Returns the count."""
        self._need("batch")
        clean = [self._item(i) for i in items]
        names = self.schema.key_names()
        if len({tuple(repr(i[n]) for n in names) for i in clean}) != len(clean):
            raise ValidationError("batch_put was given two items with the same key")
        if clean:
            self.backend.batch_put(clean)
        return len(clean)

    def transaction(self) -> Transaction:
        return Transaction()

    # -- lifecycle ------------------------------------------------------------------------------
    def required_capabilities(self) -> set[str]:
        needs = {"ttl"} if self.schema.ttl else set()
        if self.schema.indexes:
            needs.add("indexes")
        if self.stream_handlers:
            needs.add("change_stream")
        return needs

    def background_work(self) -> bool:
        return bool(self.schema.ttl or self.stream_handlers)  # TTL deletion, stream event source mappings

    def ensure(self) -> None:
        """Create the physical table if it does not exist (dev and tests; CloudFormation in prod)."""
        self.backend.ensure()

    def drop(self) -> None:
        """Delete the physical table and everything in it."""
        self.backend.drop()
        self._backend = None

    def on_change(self, *, batch_size: int = 100, batch: bool = False, max_attempts: int = 3) -> Any:
        """``@table.on_change()`` runs ``handler(record)`` (or ``handler(records)`` with ``batch=True``) for
        every INSERT / MODIFY / REMOVE, in order per key, at least once (DynamoDB Streams, NEW_AND_OLD_IMAGES).

        A failing record is retried (with everything after it) up to ``max_attempts`` times, then skipped
        with an error log, as a stream event source mapping with that retry limit does.
        """
        from .stream import StreamHandler

        self._need_once_open("change_stream")  # else checked when the backend opens
        if not 1 <= batch_size <= 10_000:
            from ..core.errors import ConfigurationError

            raise ConfigurationError("batch_size must be 1 to 10,000 (DynamoDB Streams' limit)")

        def register(fn: Any) -> Any:
            self.stream_handlers.append(StreamHandler(self, fn, batch_size, batch, max_attempts))
            return fn

        return register
