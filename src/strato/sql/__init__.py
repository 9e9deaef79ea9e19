"""The sql primitive: parameterised queries, transactions and migrations on SQLite or PostgreSQL.

``db.query(sql, {"id": 1})`` returns rows as dicts; ``db.execute`` returns the row count;
``with db.transaction() as tx:`` commits on success and rolls back on any exception; ``db.migrate(dir)``
applies ``NNN_name.sql`` files once each, in order, and refuses a file edited after it was applied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ..core.context import Context
from ..core.errors import ConfigurationError
from ..core.hints import TYPE_CHECKING, Any
from ..core.permissions import requires
from ..core.resource import Resource
from .params import check, statements
from .spi import ACTIONS, CAPABILITIES, SqlBackend, SqlSession

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CAPABILITIES", "Sql", "SqlSession"]

_MIGRATION = re.compile(r"^(\d+)[_-](.+)\.sql$")


class Sql(Resource[SqlBackend]):
    """A relational database declared with ``app.sql(name)``."""

    kind = "sql"
    ACTIONS = ACTIONS
    VOCABULARY = CAPABILITIES

    def __init__(self, ctx: Context, name: str, *, provider: str | None = None, allow: Any = None) -> None:
        super().__init__(ctx, name, provider, allow)

    @property
    def engine(self) -> str:
        return self.backend.engine

    @requires("connect")
    def query(self, sql: str, params: dict | None = None) -> list[dict[str, Any]]:
        """Rows as dicts (an empty list for statements that return none)."""
        return self.backend.query(sql, check(sql, params))

    def query_one(self, sql: str, params: dict | None = None) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    @requires("connect")
    def execute(self, sql: str, params: dict | None = None) -> int:
        """Run a statement; returns the number of rows it changed."""
        return self.backend.execute(sql, check(sql, params))

    @requires("connect")
    def executemany(self, sql: str, rows: Iterable[dict]) -> int:
        rows = list(rows)
        for row in rows:
            check(sql, row)
        return self.backend.executemany(sql, rows) if rows else 0

    @requires("connect")
    @contextmanager
    def transaction(self) -> Iterator[SqlSession]:
        """All statements in the block commit together, or none do (rolled back on any exception)."""
        self._need("transactions")
        with self.backend.transaction() as tx:
            yield _CheckedSession(tx)

    @requires("connect")
    def migrate(self, folder: str | Path) -> list[str]:
        """Apply the not-yet-applied ``NNN_name.sql`` files of ``folder``; returns what was applied."""
        from pathlib import Path  # only when migrating: pathlib costs a cold start a few ms

        files: dict[int, Path] = {}
        for path in sorted(Path(folder).glob("*.sql")):
            match = _MIGRATION.match(path.name)
            if not match:
                raise ConfigurationError(f"migration {path.name!r} must be named NNN_description.sql")
            version = int(match.group(1))
            if version in files:
                raise ConfigurationError(f"two migrations share number {version}: {files[version].name}, {path.name}")
            files[version] = path
        applied = []
        with self.backend.migration_lock() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS strato_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
                {},
            )
            done = {r["version"]: r for r in tx.query("SELECT version, name, checksum FROM strato_migrations", {})}
        for version in sorted(files):
            path = files[version]
            text = path.read_text()
            import hashlib

            checksum = hashlib.sha256(text.encode()).hexdigest()
            if version in done:
                if done[version]["checksum"] != checksum:
                    raise ConfigurationError(
                        f"migration {path.name} changed after it was applied; add a new "
                        "migration instead of editing an applied one"
                    )
                continue
            with self.backend.migration_lock() as tx:
                if tx.query("SELECT 1 AS x FROM strato_migrations WHERE version = :v", {"v": version}):
                    continue  # another process applied it while we waited
                for statement in statements(text):
                    tx.execute(statement, {})
                tx.execute(
                    "INSERT INTO strato_migrations (version, name, checksum, applied_at) VALUES "
                    "(:v, :n, :c, CURRENT_TIMESTAMP)",
                    {"v": version, "n": path.name, "c": checksum},
                )
            applied.append(path.name)
        return applied

    def drop(self) -> None:
        self.backend.close()
        self._backend = None


class _CheckedSession:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def query(self, sql: str, params: dict | None = None) -> list[dict[str, Any]]:
        return self._tx.query(sql, check(sql, params))

    def query_one(self, sql: str, params: dict | None = None) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: dict | None = None) -> int:
        return self._tx.execute(sql, check(sql, params))

    def executemany(self, sql: str, rows: Iterable[dict]) -> int:
        rows = list(rows)
        for row in rows:
            check(sql, row)
        return self._tx.executemany(sql, rows) if rows else 0
