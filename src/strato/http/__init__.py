"""The HTTP API primitive: routes on an API Gateway HTTP API (payload 2.0), served locally by
``strato dev`` and on AWS by API Gateway + Lambda through the same dispatcher."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from ..core.context import Context
from ..core.errors import ConfigurationError
from .cors import Cors
from .request import BadRequest, Headers, Request
from .response import HTTPError, Response
from .routing import METHODS, Route, Router

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from typing import Any

__all__ = ["BadRequest", "Cors", "HTTPError", "Headers", "HttpApi", "Request", "Response"]

MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload
DEFAULT_TIMEOUT_S = 29.0  # API Gateway's default integration timeout
_CO_COROUTINE = 0x80
#: route options that describe the handler (validation, OpenAPI) rather than who may call it
META_OPTIONS = ("response_model", "exclude_none", "summary", "description", "tags", "deprecated")


class HttpApi:
    """Routes of one app. ``@api.get("/items/{id}")`` registers ``def handler(req, id): ...``."""

    def __init__(self, ctx: Context, *, cors: Cors | bool | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.ctx = ctx
        self.cors = Cors() if cors is True else (cors or None)
        if not 0 < timeout <= 30:
            raise ConfigurationError("HTTP API timeout must be between 0 and 30 seconds (API Gateway's limit)")
        self.timeout = timeout
        self.function_settings: Any = None  # app.http(function=...): its Lambda's settings
        self.router = Router()

    def route(self, path: str, methods: Sequence[str] = ("GET",), **options: Any) -> Callable:
        meta = {k: options.pop(k) for k in META_OPTIONS if k in options}  # the handler's, not the authorizer's

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            code = getattr(fn, "__code__", None)
            names = code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount] if code else ()
            for method in methods:
                method = method.upper()
                if method not in METHODS and method != "ANY":
                    raise ConfigurationError(f"unknown HTTP method {method!r} for route {path}")
                route = Route(method, path, fn, dict(options), is_async=bool(code and code.co_flags & _CO_COROUTINE))
                self.router.add(route)
                params = {text for kind, text in route.segments if kind != "lit"}
                route.kwargs = tuple(n for n in names if n in params)
                route.meta = dict(meta)
                if code is not None and (meta or _annotated(fn, code)):
                    from .typed import bind  # only for handlers with annotations: plain apps never load it

                    caller = sys._getframe(1).f_locals  # a model local to the declaring function resolves too
                    route.typed = bind(fn, params, route.meta, route.is_async, route.key, caller)
                bound = {p.name for p in route.typed.params} if route.typed else set()
                missing = [n for n in _required(fn) if n not in params and n not in bound]
                if missing:  # it would fail with a TypeError (a 500) on its first request
                    raise ConfigurationError(
                        f"route {route.key}: {fn.__qualname__}() needs {', '.join(missing)}, which the path does not "
                        f"have (path parameters: {', '.join(sorted(params)) or 'none'}); rename the parameter or "
                        "give it a default"
                    )
            return fn

        return register

    def get(self, path: str, **options: Any) -> Callable:
        return self.route(path, ("GET",), **options)

    def post(self, path: str, **options: Any) -> Callable:
        return self.route(path, ("POST",), **options)

    def put(self, path: str, **options: Any) -> Callable:
        return self.route(path, ("PUT",), **options)

    def patch(self, path: str, **options: Any) -> Callable:
        return self.route(path, ("PATCH",), **options)

    def delete(self, path: str, **options: Any) -> Callable:
        return self.route(path, ("DELETE",), **options)

    def any(self, path: str, **options: Any) -> Callable:
        return self.route(path, ("ANY",), **options)

    def mount(self, prefix: str, asgi_app: Any, **options: Any) -> Any:
        """Serve an ASGI app (FastAPI, Starlette, Django's ASGI handler) under ``prefix``: ``ANY prefix`` and
        ``ANY prefix/{proxy+}`` go to it, on Lambda and under ``strato dev``. ``options`` are a route's
        (``auth=``, ``groups=``); returns the ``Mount``."""
        from .mount import Mount

        mount = Mount(prefix, asgi_app)
        for template in (mount.prefix, f"{mount.prefix}/{{proxy+}}"):
            self.route(template, ("ANY",), **options)(mount.route_handler())
            self.router.by_key[f"ANY {template}"].meta["mount"] = mount
        return mount

    @property
    def mounts(self) -> list[Any]:
        """The mounted ASGI apps (``http.mount.Mount``), once each."""
        return [r.meta["mount"] for r in self.router.routes if r.meta.get("mount") and r.path == r.meta["mount"].prefix]

    @property
    def routes(self) -> list[Route]:
        return list(self.router.routes)


def _annotated(fn: Callable[..., Any], code: Any) -> bool:
    """Whether a handler annotates anything that may need ``typed.bind``: not its request, not ``str``
    parameters, not a plain return type (the common annotations of untyped handlers load nothing more)."""
    annotations = getattr(fn, "__annotations__", None) or {}
    for name, value in annotations.items():
        if name == code.co_varnames[0] or value in _PLAIN or (name == "return" and value in _PLAIN_RETURNS):
            continue
        return True
    return False


_PLAIN = (str, "str")
_PLAIN_RETURNS = (dict, list, None, "dict", "list", "None", "Response", "Any", "dict[str, Any]", "tuple")


def _required(fn: Callable[..., Any]) -> list[str]:
    """The parameters after the request that a handler needs and strato would pass by name (read from the
    code object: ``inspect`` would cost every cold start its import)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    positional = code.co_varnames[1 : code.co_argcount]
    defaults = len(getattr(fn, "__defaults__", None) or ())
    required = list(positional[: len(positional) - defaults] if defaults else positional)
    keyword_only = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    given = getattr(fn, "__kwdefaults__", None) or {}
    return required + [n for n in keyword_only if n not in given]
