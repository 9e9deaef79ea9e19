"""The sql provider interface: what a backend implements, the capabilities it may declare, and the
actions ``allow=`` can grant (with the IAM actions each needs)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager

from ..core.hints import Any, Protocol

#: a provider that cannot run statements atomically together would leave out "transactions"
CAPABILITIES = frozenset({"transactions"})

#: action -> the IAM actions it needs
ACTIONS: dict[str, tuple[str, ...]] = {"connect": ("secretsmanager:GetSecretValue",)}


class SqlSession(Protocol):
    """What ``query``/``execute`` run on: the database itself, or an open transaction."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...
    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int: ...
    def executemany(self, sql: str, rows: Iterable[dict[str, Any]]) -> int: ...


class SqlBackend(Protocol):
    """One database: statements with ``:name`` parameters already checked and converted by the facade."""

    capabilities: frozenset[str]
    engine: str

    def query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]: ...
    def execute(self, sql: str, params: dict[str, Any]) -> int: ...
    def executemany(self, sql: str, rows: list[dict[str, Any]]) -> int: ...
    def transaction(self) -> AbstractContextManager[SqlSession]: ...
    def migration_lock(self) -> AbstractContextManager[SqlSession]:
        """A transaction that also keeps other processes from migrating at the same time."""
        ...

    def close(self) -> None: ...
