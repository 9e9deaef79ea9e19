"""Typed handlers: parameters converted from the path, the query string and the JSON body by their
annotations, and results checked against a response model.

``def create(req, item: Item, dry_run: bool = False) -> Item`` reads ``item`` from the body (a pydantic
model), ``dry_run`` from the query string, and serialises the returned ``Item``. str, int, float and bool
(alone, ``X | None`` or ``list[X]``) are converted here, so an app without models never imports pydantic;
a parameter of another type (``UUID``, ``datetime``, ``Literal``, ...) is validated by a pydantic
``TypeAdapter``. Every failure is one ``RequestValidationFailed``: a 422 with pydantic's error list.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from .response import HTTPError, Response

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not loaded at run time (Lambda cold start)
    from typing import Any

    from .request import Request

_SIMPLE = (str, int, float, bool)
_TRUE = frozenset(("1", "on", "t", "true", "y", "yes"))
_FALSE = frozenset(("0", "off", "f", "false", "n", "no"))
_MESSAGES = {
    int: ("int_parsing", "Input should be a valid integer, unable to parse string as an integer"),
    float: ("float_parsing", "Input should be a valid number, unable to parse string as a number"),
    bool: ("bool_parsing", "Input should be a valid boolean, unable to interpret input"),
}


class RequestValidationFailed(HTTPError):
    """422 Unprocessable Content: ``{"message", "code": "RequestValidationError", "errors": [...]}``, each
    error ``{"type", "loc", "msg"}`` with ``loc`` starting at ``"body"``, ``"query"`` or ``"path"``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(422, "Request validation failed")
        self.code = "RequestValidationError"
        self.errors = errors


class ResponseValidationFailed(Exception):
    """The handler returned something its response model rejects: the server's bug, a 500."""


def pydantic_model(annotation: Any) -> bool:
    """Whether ``annotation`` is a pydantic model class, without importing pydantic to find out: a model
    exists only if its author imported pydantic already."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def resolve(fn: Callable[..., Any], local: dict[str, Any] | None = None) -> dict[str, Any]:
    """The handler's annotations as objects; a string one (``from __future__ import annotations``) is
    evaluated in the handler's module, and one that cannot be (a name imported for type checkers only, a
    class local to a function) is left as its text: ``bind`` says which."""
    raw = getattr(fn, "__annotations__", None) or {}
    names = getattr(getattr(fn, "__code__", None), "co_varnames", ())
    first = names[0] if names else None
    out = {}
    for name, value in raw.items():
        if name == first:
            continue
        if isinstance(value, str):
            try:
                value = eval(value, getattr(fn, "__globals__", {}), local)
            except Exception:
                value = _Unresolved(value)
        out[name] = value
    return out


class _Unresolved(str):
    """An annotation's text that did not evaluate in the handler's module."""


def _shape(annotation: Any) -> tuple[Any, bool, bool] | None:
    """(scalar type, optional, list) for the shapes converted here, None for those pydantic converts."""
    if annotation in _SIMPLE:
        return annotation, False, False
    args = getattr(annotation, "__args__", None)
    origin = getattr(annotation, "__origin__", None)
    if args and (type(annotation).__name__ == "UnionType" or str(origin) == "typing.Union"):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2 and (inner := _shape(rest[0])) and not inner[1]:
            return inner[0], True, inner[2]
        return None
    if origin is list and args and len(args) == 1 and args[0] in _SIMPLE:
        return args[0], False, True
    return None


def _many(annotation: Any) -> bool:
    """Whether a type pydantic converts takes every value of a repeated query parameter: a list, set or
    tuple, also inside ``Annotated[...]`` or ``X | None``."""
    if hasattr(annotation, "__metadata__"):  # Annotated[X, ...]
        return _many(annotation.__origin__)
    origin = getattr(annotation, "__origin__", None)
    if origin in (list, set, frozenset, tuple):
        return True
    args = getattr(annotation, "__args__", None) or ()
    if type(annotation).__name__ == "UnionType" or str(origin) == "typing.Union":
        return any(_many(a) for a in args if a is not type(None))
    return False


def _convert(kind: type, text: str) -> Any:
    """One scalar from its text, as pydantic's lax mode would; ValueError with pydantic's (type, msg)."""
    if kind is str:
        return text
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise ValueError(*_MESSAGES[bool])
    try:
        return kind(text.strip()) if kind is float else int(text.strip())
    except ValueError:
        raise ValueError(*_MESSAGES[kind]) from None


class Param:
    """One parameter after the request: where it is read from and how it is converted."""

    __slots__ = ("adapter", "annotation", "default", "name", "required", "shape", "source")

    def __init__(self, name: str, source: str, annotation: Any, default: Any, required: bool) -> None:
        self.name, self.source, self.annotation = name, source, annotation
        self.default, self.required = default, required
        self.shape = _shape(annotation) if source != "body" else None
        self.adapter: Any = None
        if source != "body" and self.shape is None:
            from pydantic import TypeAdapter  # a type strato does not convert itself

            self.adapter = TypeAdapter(annotation)

    def read(self, request: Request, params: dict[str, str], errors: list[dict[str, Any]]) -> Any:
        loc = [self.source, self.name]
        if self.source == "body":
            body = request.body
            if not body.strip():
                if self.required:
                    errors.append({"type": "missing", "loc": ["body"], "msg": "Field required"})
                return self.default
            try:
                return self.annotation.model_validate_json(body)
            except Exception as exc:  # pydantic.ValidationError, without importing it here
                return _collect(exc, ["body"], errors)
        many = self.shape[2] if self.shape is not None else _many(self.annotation)
        if self.source == "path":
            raw: Any = params.get(self.name)
        elif many:
            raw = request.query_list(self.name) or None
        else:
            raw = request.query.get(self.name)
        if raw is None:
            if self.required:
                errors.append({"type": "missing", "loc": loc, "msg": "Field required"})
            return self.default
        if self.adapter is not None:
            try:
                if isinstance(raw, str):  # as text from a URL: "1" is a valid IntEnum, "2024-01-02" a date
                    return self.adapter.validate_strings(raw)
                return self.adapter.validate_python(raw)
            except Exception as exc:
                return _collect(exc, loc, errors)
        kind, _, _ = self.shape  # type: ignore[misc]
        values = raw if many else [raw]
        out = []
        for i, text in enumerate(values):
            try:
                out.append(_convert(kind, text))
            except ValueError as exc:
                errors.append({"type": exc.args[0], "loc": [*loc, i] if many else loc, "msg": exc.args[1]})
        return out if many else (out[0] if out else None)


def _collect(exc: Exception, prefix: list[Any], errors: list[dict[str, Any]]) -> None:
    found = getattr(exc, "errors", None)
    if not callable(found):
        raise exc
    for error in found(include_url=False, include_input=False, include_context=False):
        errors.append({"type": error["type"], "loc": [*prefix, *error["loc"]], "msg": error["msg"]})


class Binding:
    """How one typed handler is called: its parameters read and checked, its result serialised."""

    __slots__ = ("exclude_none", "handler", "is_async", "params", "response_model")

    def __init__(self, handler: Callable[..., Any], params: list[Param], meta: dict[str, Any], is_async: bool) -> None:
        self.handler, self.params, self.is_async = handler, params, is_async
        self.response_model = meta.get("response_model")
        self.exclude_none = bool(meta.get("exclude_none", False))

    @property
    def body(self) -> Param | None:
        return next((p for p in self.params if p.source == "body"), None)

    def __call__(self, request: Request, params: dict[str, str]) -> Any:
        errors: list[dict[str, Any]] = []
        kwargs = {p.name: p.read(request, params, errors) for p in self.params}
        if errors:
            raise RequestValidationFailed(errors)
        result = self.handler(request, **kwargs)
        if self.is_async:
            return self._finish_async(result)
        return self.finish(result)

    async def _finish_async(self, result: Any) -> Any:
        return self.finish(await result)

    def finish(self, result: Any) -> Any:
        """The result with its model(s) as JSON text; checked against the response model if declared."""
        if isinstance(result, tuple) and len(result) in (2, 3):
            return (result[0], self.finish(result[1]), *result[2:])
        model = self.response_model
        if model is not None and not isinstance(result, (Response, model)):
            try:
                result = model.model_validate(result, from_attributes=True)
            except Exception as exc:
                raise ResponseValidationFailed(f"the handler's result does not match {model.__name__}: {exc}") from None
        dump = getattr(result, "model_dump_json", None)
        if dump is None or isinstance(result, type):
            return result
        return Response(dump(by_alias=True, exclude_none=self.exclude_none), content_type="application/json")


def bind(
    fn: Callable[..., Any],
    path_params: set[str],
    meta: dict[str, Any],
    is_async: bool,
    key: str,
    local: dict[str, Any] | None = None,
) -> Binding | None:
    """The binding of a handler that needs one (a typed parameter beyond plain ``str`` path parameters, a
    model, a response model); None keeps the plain call, which costs nothing more than before."""
    from ..core.errors import ConfigurationError

    annotations = resolve(fn, local)
    code = fn.__code__
    names = code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount]
    positional = code.co_varnames[1 : code.co_argcount]
    defaults = dict(zip(positional[len(positional) - len(fn.__defaults__ or ()) :], fn.__defaults__ or (), strict=True))
    defaults.update(getattr(fn, "__kwdefaults__", None) or {})
    returned = annotations.get("return")
    if "response_model" not in meta and pydantic_model(returned):
        meta["response_model"] = returned
    params: list[Param] = []
    for name in names:
        annotation = annotations.get(name)
        if isinstance(annotation, _Unresolved):
            if name in path_params:
                annotation = None  # read as text, as an unannotated path parameter always was
            else:
                raise ConfigurationError(
                    f"route {key}: the annotation {annotation!s} of {name} does not resolve in "
                    f"{getattr(fn, '__module__', '?')} (imported for type checkers only, or local to a function?); "
                    "define it at module level"
                )
        required = name not in defaults
        if pydantic_model(annotation):
            if any(p.source == "body" for p in params):
                raise ConfigurationError(f"route {key}: only one parameter can be read from the body ({name})")
            params.append(Param(name, "body", annotation, defaults.get(name), required))
        elif name in path_params:
            params.append(Param(name, "path", annotation if annotation is not None else str, None, True))
        elif annotation is not None:
            params.append(Param(name, "query", annotation, defaults.get(name), required))
    plain = all(p.source == "path" and p.annotation is str for p in params)
    if plain and meta.get("response_model") is None:
        return None
    return Binding(fn, params, meta, is_async)
