"""The OpenAPI 3.1 document of an HTTP API, read from its routes: path and query parameters and request
and response schemas from typed handlers (pydantic models become ``components/schemas``), security from
``auth=`` / ``groups=``, and the error responses strato itself gives (422, 401/403). A mounted FastAPI app
contributes its own paths under the mount's prefix.

Only ``strato openapi`` and ``strato dev`` build it: nothing on the Lambda path imports this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .authorizer import needs_token

if TYPE_CHECKING:
    from . import HttpApi
    from .routing import Route
    from .typed import Param

_SCALARS = {str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"}, bool: {"type": "boolean"}}
_REF = "#/components/schemas/{model}"
_ERROR = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}, "code": {"type": "string"}},
}
_VALIDATION_ERROR = {
    "type": "object",
    "required": ["message", "code", "errors"],
    "properties": {
        "message": {"type": "string"},
        "code": {"const": "RequestValidationError"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "loc", "msg"],
                "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


class _Builder:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def model(self, model: Any, mode: str = "validation") -> dict[str, Any]:
        """A reference to the model's schema as a request (``validation``) or a response (``serialization``:
        aliases as sent) carries it; its nested definitions added to the components. A model whose two
        schemas differ gets ``<Name>Output`` for the second."""
        schema = model.model_json_schema(ref_template=_REF, by_alias=True, mode=mode)
        self.schemas.update(schema.pop("$defs", {}))
        name = model.__name__
        if self.schemas.get(name, schema) != schema:
            name = f"{name}Output" if mode == "serialization" else f"{name}Input"
        self.schemas[name] = schema
        return {"$ref": _REF.format(model=name)}

    def type_schema(self, param: Param) -> dict[str, Any]:
        if param.adapter is not None:
            schema = param.adapter.json_schema(ref_template=_REF)
            self.schemas.update(schema.pop("$defs", {}))
            return schema
        if param.shape is None:
            return {"type": "string"}
        kind, optional, many = param.shape
        schema = dict(_SCALARS[kind])
        if many:
            schema = {"type": "array", "items": schema}
        return {"anyOf": [schema, {"type": "null"}]} if optional else schema

    def operation(self, route: Route, method: str) -> dict[str, Any]:
        meta = route.meta
        handler = route.handler
        doc = (getattr(handler, "__doc__", None) or "").strip()
        op: dict[str, Any] = {
            "operationId": _operation_id(method, route.path),
            "summary": meta.get("summary") or (doc.splitlines()[0] if doc else route.key),
        }
        if meta.get("description") or doc:
            op["description"] = meta.get("description") or doc
        if meta.get("tags"):
            op["tags"] = list(meta["tags"])
        if meta.get("deprecated"):
            op["deprecated"] = True
        typed = route.typed
        parameters = []
        declared = {p.name: p for p in typed.params} if typed else {}
        for kind, name in route.segments:
            if kind != "lit":
                param = declared.get(name)
                schema = self.type_schema(param) if param else {"type": "string"}
                parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        for param in typed.params if typed else []:
            if param.source == "query":
                entry = {"name": param.name, "in": "query", "required": param.required}
                entry["schema"] = self.type_schema(param)
                if not param.required and param.default is not None and _plain(param.default):
                    entry["schema"] = {**entry["schema"], "default": param.default}
                parameters.append(entry)
        if parameters:
            op["parameters"] = parameters
        body = typed.body if typed else None
        if body is not None:
            op["requestBody"] = {"required": body.required, "content": _json(self.model(body.annotation))}
        model = meta.get("response_model")
        ok: dict[str, Any] = {"description": "Success"}
        if model is not None:
            ok["content"] = _json(self.model(model, "serialization"))
        responses: dict[str, Any] = {"200": ok}
        if typed is not None:
            responses["422"] = {
                "description": "Request validation failed",
                "content": _json({"$ref": _REF.format(model="StratoValidationError")}),
            }
            self.schemas["StratoValidationError"] = _VALIDATION_ERROR
        if needs_token(route.options):
            op["security"] = [{"bearerAuth": []}]
            responses["401"] = {
                "description": "Missing or invalid token",
                "content": _json({"$ref": _REF.format(model="StratoError")}),
            }
            if route.options.get("groups"):
                groups = ", ".join(route.options["groups"])
                responses["403"] = {
                    "description": f"The token has none of the groups: {groups}",
                    "content": _json({"$ref": _REF.format(model="StratoError")}),
                }
                op["description"] = (op.get("description", "") + f"\n\nRequires one of the groups: {groups}.").strip()
        op["responses"] = responses
        return op


def _operation_id(method: str, path: str) -> str:
    """Unique per method and path, as OpenAPI requires: ``get_items_id`` for ``GET /items/{id}``."""
    words = "".join(c if c.isalnum() else "_" for c in path).strip("_")
    return f"{method}_{'_'.join(w for w in words.split('_') if w) or 'root'}"


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, list))


def _openapi_path(route: Route) -> str:
    return "/" + "/".join(text if kind == "lit" else f"{{{text}}}" for kind, text in route.segments)


def document(api: HttpApi, title: str, version: str = "1.0.0") -> dict[str, Any]:
    """The API's OpenAPI 3.1 document as a dict (``json.dumps`` it)."""
    builder = _Builder()
    builder.schemas["StratoError"] = _ERROR
    paths: dict[str, dict[str, Any]] = {}
    mounts: list[tuple[Any, dict[str, Any]]] = []
    for route in sorted(api.routes, key=lambda r: (r.path, r.method)):
        mount = route.meta.get("mount")
        if mount is not None:
            if all(mount is not m for m, _ in mounts):
                mounts.append((mount, route.options))
            continue
        methods = ["get", "post", "put", "patch", "delete"] if route.method == "ANY" else [route.method.lower()]
        for method in methods:
            paths.setdefault(_openapi_path(route), {})[method] = builder.operation(route, method)
    for mount, options in mounts:
        _merge_mounted(mount, options, paths, builder.schemas)
    out: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": builder.schemas},
    }
    if any("security" in op for ops in paths.values() for op in ops.values()):
        scheme = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        out["components"]["securitySchemes"] = {"bearerAuth": scheme}
    return out


def _merge_mounted(mount: Any, options: dict[str, Any], paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A mounted app that describes itself (FastAPI's ``openapi()``): its paths under the prefix. Any other
    ASGI app is one catch-all path, since nothing says what it serves. ``auth=`` on the mount secures all."""
    secured = needs_token(options)
    describe = getattr(mount.app, "openapi", None)
    if callable(describe):
        own = describe()
        for path, ops in (own.get("paths") or {}).items():
            if secured:
                for op in ops.values():
                    if isinstance(op, dict) and "responses" in op:
                        op["security"] = [{"bearerAuth": []}]
            paths[mount.prefix + path] = ops
        schemas.update((own.get("components") or {}).get("schemas") or {})
        return
    any_op: dict[str, Any] = {
        "summary": f"Mounted ASGI app ({getattr(mount.app, '__name__', type(mount.app).__name__)})",
        "responses": {"default": {"description": "The mounted app's response"}},
    }
    if secured:
        any_op["security"] = [{"bearerAuth": []}]
    paths[f"{mount.prefix}/{{proxy}}"] = {
        "parameters": [{"name": "proxy", "in": "path", "required": True, "schema": {"type": "string"}}],
        **{
            m: dict(any_op, operationId=f"{m}_mount{mount.prefix.replace('/', '_')}")
            for m in ("get", "post", "put", "patch", "delete")
        },
    }
