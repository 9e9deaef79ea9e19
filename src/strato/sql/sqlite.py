"""The embedded sql provider: one SQLite file per database (WAL, shared by every local process)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.context import ProviderServices
from ..core.errors import SqlConstraintError, SqlError
from ..runtime.sqlite import Database

if TYPE_CHECKING:
    from . import Sql


def _translate(exc: sqlite3.Error) -> SqlError:
    if isinstance(exc, sqlite3.IntegrityError):
        return SqlConstraintError(f"constraint violated: {exc}")
    return SqlError(f"SQLite: {exc}")


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    if cursor.description is None:
        return []
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class _Session:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return _rows(self.conn.execute(sql, params))
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    def execute(self, sql: str, params: dict[str, Any]) -> int:
        try:
            return self.conn.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    def executemany(self, sql: str, rows: Iterable[dict[str, Any]]) -> int:
        try:
            return self.conn.executemany(sql, list(rows)).rowcount
        except sqlite3.Error as exc:
            raise _translate(exc) from exc


class SqliteBackend:
    engine = "sqlite"
    capabilities = frozenset({"transactions"})

    def __init__(self, data_dir: Path, name: str, durability: str) -> None:
        # foreign keys are a per-connection setting: on for each connection as it opens
        self.db = Database(Path(data_dir) / f"sql-{name}.db", durability, pragmas=("PRAGMA foreign_keys=ON",))

    def _session(self) -> _Session:
        return _Session(self.db.conn)

    def query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._session().query(sql, params)

    def execute(self, sql: str, params: dict[str, Any]) -> int:
        return self._session().execute(sql, params)

    def executemany(self, sql: str, rows: list[dict[str, Any]]) -> int:
        with self.transaction() as tx:
            return tx.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[_Session]:
        session = self._session()
        if session.conn.in_transaction:
            raise SqlError("transactions do not nest; use the transaction you already hold")
        try:
            with self.db.write() as conn:
                yield _Session(conn)
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    migration_lock = transaction  # BEGIN IMMEDIATE already serialises writers across processes

    def close(self) -> None:
        self.db.close()


def open_backend(sql: Sql, services: ProviderServices) -> SqliteBackend:
    """The registry's factory: one SQLite file per database, closed with the app."""
    config = services.config
    return services.shared(f"sql:{sql.name}", lambda: SqliteBackend(config.data_dir, sql.name, config.durability))
