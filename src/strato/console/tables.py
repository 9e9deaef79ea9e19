"""The table browser: describe, scan (local provider), query by key or index, get, put / delete with
conditions (``if_absent``, ``if_match``: the item as the page loaded it, so a save over someone else's
change is refused with 409 instead of losing it)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .values import from_json, to_json
from .web import BadRequest, blocking, body, endpoint, field, query_int, resource

OPS = ("=", "<", "<=", ">", ">=", "begins_with", "between")


def describe(table: Any) -> dict[str, Any]:
    schema = table.schema

    def attr(a: Any) -> dict[str, str] | None:
        return {"name": a.name, "type": a.type} if a is not None else None

    return {
        "name": table.name,
        "physical": table.physical_name,
        "provider": table.provider,
        "key": attr(schema.key),
        "sort": attr(schema.sort),
        "indexes": {n: {"key": attr(i.key), "sort": attr(i.sort)} for n, i in schema.indexes.items()},
        "ttl": schema.ttl,
        "streams": len(table.stream_handlers),
    }


@endpoint
async def tables(request: Request) -> Any:
    return [describe(t) for t in request.app.state.app.of_kind("table")]


def _scan(table: Any, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` items in key order: local tables only (DynamoDB's Scan is not a facade call)."""
    backend = table.backend
    if not hasattr(backend, "store") or not hasattr(backend, "t"):
        raise BadRequest(f"table {table.name!r} is on provider {table.provider!r}: query it by key instead", 409)
    from ..table.docs import decode_doc

    backend.ensure()
    rows = backend.store.db.conn.execute(f"SELECT doc FROM {backend.t} LIMIT ?", (limit,)).fetchall()
    return [decode_doc(row[0]) for row in rows]


@endpoint
async def scan(request: Request) -> Any:
    table = resource(request, "table")
    limit = query_int(request, "limit", 50, 1, 500)
    return {"items": to_json(await blocking(_scan, table, limit))}


def _sort_condition(data: dict[str, Any]) -> Any:
    op = data.get("op")
    if op in (None, ""):
        return None
    from ..table import Sort

    if op not in OPS:
        raise BadRequest(f"op must be one of {list(OPS)}")
    value = from_json(field(data, "value", (str, int, float, dict)), "value")
    if op == "between":
        return Sort.between(value, from_json(field(data, "value2", (str, int, float, dict)), "value2"))
    return {
        "=": Sort.eq,
        "<": Sort.lt,
        "<=": Sort.lte,
        ">": Sort.gt,
        ">=": Sort.gte,
        "begins_with": Sort.begins_with,
    }[op](value)


@endpoint
async def query(request: Request) -> Any:
    table = resource(request, "table")
    data = await body(request)
    partition = from_json(field(data, "partition", (str, int, float, dict)), "partition")
    page = await blocking(
        table.query,
        partition,
        sort=_sort_condition(data),
        index=field(data, "index", str, None) or None,
        newest_first=bool(field(data, "newest_first", bool, False)),
        limit=field(data, "limit", int, 50),
        cursor=field(data, "cursor", str, None),
    )
    return {"items": to_json(page.items), "cursor": page.cursor}


def _key(table: Any, data: dict[str, Any]) -> dict[str, Any]:
    key = from_json(field(data, "key", dict), "key")
    names = table.schema.key_names()
    missing = [n for n in names if n not in key]
    if missing:
        raise BadRequest(f"key needs {list(names)}; missing {missing}")
    return {n: key[n] for n in names}


@endpoint
async def get_item(request: Request) -> Any:
    table = resource(request, "table")
    key = _key(table, await body(request))
    item = await blocking(table.get, key)
    if item is None:
        raise BadRequest(f"no item with key {to_json(key)} in table {table.name!r}", 404)
    return {"item": to_json(item)}


def _condition(data: dict[str, Any]) -> dict[str, Any]:
    cond: dict[str, Any] = {}
    if field(data, "if_absent", bool, False):
        cond["if_absent"] = True
    if (match := field(data, "if_match", dict, None)) is not None:
        cond["if_match"] = from_json(match, "if_match")
    return cond


@endpoint
async def put_item(request: Request) -> Any:
    table = resource(request, "table")
    data = await body(request)
    item = from_json(field(data, "item", dict))
    stored = await blocking(lambda: table.put(item, **_condition(data)))
    return {"item": to_json(stored)}


@endpoint
async def delete_item(request: Request) -> Any:
    table = resource(request, "table")
    data = await body(request)
    key = _key(table, data)
    cond = _condition(data)
    if cond.pop("if_absent", False):
        raise BadRequest("if_absent makes no sense for a delete; use if_match or if_exists")
    if field(data, "if_exists", bool, False):
        cond["if_exists"] = True
    old = await blocking(lambda: table.delete(key, **cond))
    return {"deleted": to_json(old)}


ROUTES = [
    Route("/_strato/console/api/tables", tables),
    Route("/_strato/console/api/tables/{name}/scan", scan),
    Route("/_strato/console/api/tables/{name}/query", query, methods=["POST"]),
    Route("/_strato/console/api/tables/{name}/item", get_item, methods=["POST"]),
    Route("/_strato/console/api/tables/{name}/item", put_item, methods=["PUT"]),
    Route("/_strato/console/api/tables/{name}/item", delete_item, methods=["DELETE"]),
]
