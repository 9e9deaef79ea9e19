"""``@dataclass`` for the modules a Lambda cold start imports, without importing ``dataclasses``.

``dataclasses`` pulls in ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``) and computes a
signature for each class: about 10 ms of a cold start for an app that declares every primitive. This
is the part of it strato uses, generating the same ``__init__`` / ``__repr__`` / ``__eq__`` /
``__hash__`` (frozen) / ``__match_args__``, so instances cost the same to build and compare.

Modules import it for run time and the real one for mypy, which then checks them as dataclasses::

    if TYPE_CHECKING:
        from dataclasses import dataclass, field
    else:
        from ..core.record import dataclass, field

Supported: ``frozen=``, ``field(default=, default_factory=, init=, repr=)``, ``__post_init__``,
inheritance from another record, ``ClassVar`` annotations (skipped). Not: ``asdict``, ``replace``,
``fields``, ``order``, ``slots``, ``kw_only``, ``InitVar`` (nothing in strato uses them; a test checks
that these classes behave as ``dataclasses`` would).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MISSING = object()
_FIELDS = "__record_fields__"


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (as ``dataclasses.FrozenInstanceError``)."""


class Field:
    __slots__ = ("default", "default_factory", "init", "name", "repr")

    def __init__(self, default: Any, default_factory: Any, init: bool, repr: bool) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | Any = _MISSING,
    init: bool = True,
    repr: bool = True,
) -> Any:
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr)


def _own_fields(cls: type) -> list[Field]:
    out = []
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect is what this module avoids
    for name, annotation in own.items():
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        spec = value if isinstance(value, Field) else Field(value, _MISSING, True, True)
        spec.name = name
        if spec.default is _MISSING:
            if name in cls.__dict__:
                delattr(cls, name)  # a field without a default has no class attribute, as in dataclasses
        else:
            setattr(cls, name, spec.default)
        out.append(spec)
    return out


def _build(cls: Any, frozen: bool) -> Any:
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for spec in getattr(base, _FIELDS, {}).values():
            fields[spec.name] = spec
    for spec in _own_fields(cls):
        fields[spec.name] = spec
    setattr(cls, _FIELDS, fields)
    scope: dict[str, Any] = {"_MISSING": _MISSING, "_set": object.__setattr__}
    params, body, seen_default = [], [], False
    for spec in fields.values():
        name = spec.name
        if spec.default_factory is not _MISSING:
            scope[f"_factory_{name}"] = spec.default_factory
            if spec.init:
                params.append(f"{name}=_MISSING")
                value = f"_factory_{name}() if {name} is _MISSING else {name}"
            else:
                value = f"_factory_{name}()"
        elif spec.init:
            if spec.default is not _MISSING:
                scope[f"_default_{name}"] = spec.default
                params.append(f"{name}=_default_{name}")
                seen_default = True
            elif seen_default:
                raise TypeError(f"non-default argument {name!r} follows default argument")
            else:
                params.append(name)
            value = name
        else:
            continue  # init=False: the class attribute is its default, or __post_init__ sets it
        body.append(f"_set(self, {name!r}, {value})" if frozen else f"self.{name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    names = tuple(spec.name for spec in fields.values())
    # only __init__ is compiled (as fast as dataclasses' own); the rest are shared closures, since
    # compiling four functions per class was most of what a record cost at import
    exec(f"def __init__(self, {', '.join(params)}):\n    " + ("\n    ".join(body) or "pass"), scope)
    methods = {
        "__init__": scope["__init__"],
        "__repr__": _repr(tuple(spec.name for spec in fields.values() if spec.repr)),
        "__eq__": _eq(names),
    }
    if frozen:
        methods["__hash__"] = _hash(names)
    for method, function in methods.items():
        if method not in cls.__dict__:
            function.__qualname__ = f"{cls.__qualname__}.{method}"
            setattr(cls, method, function)
    if not frozen and "__hash__" not in cls.__dict__:
        cls.__hash__ = None  # mutable and compared by value: unhashable, as in dataclasses
    if frozen:
        _freeze(cls, frozenset(names))
    if "__match_args__" not in cls.__dict__:
        cls.__match_args__ = tuple(spec.name for spec in fields.values() if spec.init)  # type: ignore[misc]
    return cls


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields of an instance as a tuple (what dataclasses compares and hashes)."""
    if len(names) == 1:
        name = names[0]
        return lambda self: (getattr(self, name),)
    return attrgetter(*names) if names else lambda self: ()


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _eq(names: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    values = _values(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    values = _values(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _freeze(cls: Any, names: frozenset[str]) -> None:
    """Assigning or deleting raises, for a field or on the class itself (what dataclasses does)."""

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    cls.__setattr__ = __setattr__
    cls.__delattr__ = __delattr__


def dataclass(cls: type | None = None, /, *, frozen: bool = False) -> Any:
    """``@dataclass`` / ``@dataclass(frozen=True)``."""
    if cls is None:
        return lambda c: _build(c, frozen)
    return _build(cls, frozen)
