"""The ``typing`` names strato's facades use at run time, without importing ``typing`` there.

``typing`` costs a Lambda cold start about 4 ms, more than the rest of an HTTP handler's import. The
modules a cold start loads import these names from here: mypy sees ``typing``'s own (the
``TYPE_CHECKING`` branch), the interpreter sees stand-ins that do what run time needs of them:
``Protocol`` and ``Generic`` are plain bases (``Resource[TableBackend]`` is ``Resource``), ``cast``
returns its value, ``overload`` keeps the implementation, ``TypeVar`` / ``ParamSpec`` make a marker.
Nothing in strato checks these at run time (no ``isinstance`` against a Protocol, no
``get_type_hints``); code that needs real ``typing`` imports it.
"""

from __future__ import annotations

__all__ = [
    "TYPE_CHECKING",
    "Any",
    "BinaryIO",
    "ClassVar",
    "Concatenate",
    "Generic",
    "ParamSpec",
    "Protocol",
    "TypeVar",
    "cast",
    "overload",
]

TYPE_CHECKING = False  # mypy treats any name TYPE_CHECKING as true
if TYPE_CHECKING:
    from typing import Any as Any
    from typing import BinaryIO as BinaryIO
    from typing import ClassVar as ClassVar
    from typing import Concatenate as Concatenate
    from typing import Generic as Generic
    from typing import ParamSpec as ParamSpec
    from typing import Protocol as Protocol
    from typing import TypeVar as TypeVar
    from typing import cast as cast
    from typing import overload as overload
else:

    class _Form:
        """A name only annotations use (``Any``, ``ClassVar[int]``): subscriptable, never called."""

        def __init__(self, name):
            self._name = name

        def __getitem__(self, item):
            return self

        def __repr__(self):
            return f"strato.core.hints.{self._name}"

    Any = _Form("Any")
    BinaryIO = _Form("BinaryIO")
    ClassVar = _Form("ClassVar")
    Concatenate = _Form("Concatenate")

    class _Base:
        """``Protocol`` / ``Generic``: a base class whose subscription is the class itself."""

        __slots__ = ()

        def __class_getitem__(cls, item):
            return cls

    class Protocol(_Base):
        __slots__ = ()

    class Generic(_Base):
        __slots__ = ()

    class TypeVar:
        def __init__(self, name, *constraints, bound=None, covariant=False, contravariant=False):
            self.__name__ = name

        def __repr__(self):
            return f"~{self.__name__}"

    class ParamSpec(TypeVar):
        args = kwargs = None

    def cast(typ, value):
        return value

    def overload(function):
        return function
