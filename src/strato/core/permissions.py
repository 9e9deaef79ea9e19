"""What each declared action lets code do, locally and in IAM.

``app.table("jobs", key="id", allow=("read",))`` declares that the code only reads that table: the
local providers then refuse a write with AccessDenied (as IAM would in production), and ``strato
synth`` grants exactly GetItem / BatchGetItem / Query / ConditionCheckItem on the table and its
indexes. Leaving ``allow`` out grants every action of the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import wraps

from .errors import AccessDenied, ConfigurationError
from .hints import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

if TYPE_CHECKING:
    from .resource import Resource

R = TypeVar("R", bound="Resource[Any]")
P = ParamSpec("P")
T = TypeVar("T")


def resolve(kind: str, name: str, allow: Iterable[str] | None, known: Mapping[str, Sequence[str]]) -> frozenset[str]:
    """The actions ``allow=`` declares (every action of the kind when it is left out)."""
    if allow is None:
        return frozenset(known)
    chosen = frozenset([allow] if isinstance(allow, str) else allow)
    unknown = chosen - set(known)
    if unknown:
        raise ConfigurationError(
            f"{kind} {name!r}: unknown action(s) {sorted(unknown)}; a {kind} allows {sorted(known)}"
        )
    return chosen


def requires(
    action: str,
) -> Callable[[Callable[Concatenate[R, P], T]], Callable[Concatenate[R, P], T]]:
    """Mark a facade method as needing ``action`` on its resource; undeclared -> AccessDenied."""

    def decorate(method: Callable[Concatenate[R, P], T]) -> Callable[Concatenate[R, P], T]:
        @wraps(method)
        def checked(self: R, *args: P.args, **kwargs: P.kwargs) -> T:
            if action not in self.allowed:
                raise AccessDenied(
                    f"AccessDenied: {self.kind} {self.name!r} does not allow {action!r} (declared allow="
                    f"{tuple(sorted(self.allowed))}); add {action!r} to its allow= to let the code "
                    f"{method.__name__}() it. On AWS the function's role would refuse it the same way."
                )
            return method(self, *args, **kwargs)

        return checked

    return decorate
