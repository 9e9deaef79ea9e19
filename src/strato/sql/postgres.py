"""The PostgreSQL provider (RDS / Aurora): psycopg 3 with a connection pool.

The connection comes from ``STRATO_SQL_<NAME>_URL``, ``DATABASE_URL``, or an AWS Secrets Manager
secret named by ``STRATO_SQL_<NAME>_SECRET`` (the JSON RDS writes: host, port, username, password,
dbname), fetched once with boto3.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..core.config import env_token
from ..core.context import ProviderServices
from ..core.errors import ConfigurationError, ServiceUnavailable, SqlConstraintError, SqlError
from .params import to_pyformat

if TYPE_CHECKING:
    from ..core.context import AwsClients
    from . import Sql


def conninfo(name: str, session: AwsClients | None = None) -> str:
    token = env_token(name)
    url = os.environ.get(f"STRATO_SQL_{token}_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    secret_id = os.environ.get(f"STRATO_SQL_{token}_SECRET")
    if secret_id and session is not None:
        value = json.loads(session.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
        user, password = quote(value["username"], safe=""), quote(value["password"], safe="")
        return (
            f"postgresql://{user}:{password}@{value['host']}:{value.get('port', 5432)}/"
            f"{value.get('dbname', 'postgres')}"
        )
    raise ConfigurationError(f"sql {name!r}: set STRATO_SQL_{token}_URL, DATABASE_URL or STRATO_SQL_{token}_SECRET")


def _translate(exc: Exception) -> SqlError | ServiceUnavailable:
    import psycopg

    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.errors.IntegrityError):
        return SqlConstraintError(f"constraint violated: {message}")
    if isinstance(exc, psycopg.OperationalError):
        return ServiceUnavailable(f"PostgreSQL: {message}")
    return SqlError(f"PostgreSQL: {message}")


class _Session:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        import psycopg

        try:
            cursor = self.conn.execute(to_pyformat(sql), params)
            return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            raise _translate(exc) from exc

    def execute(self, sql: str, params: dict[str, Any]) -> int:
        import psycopg

        try:
            return self.conn.execute(to_pyformat(sql), params).rowcount
        except psycopg.Error as exc:
            raise _translate(exc) from exc

    def executemany(self, sql: str, rows: Iterable[dict[str, Any]]) -> int:
        import psycopg

        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(to_pyformat(sql), list(rows))
                return cursor.rowcount
        except psycopg.Error as exc:
            raise _translate(exc) from exc


class PostgresBackend:
    engine = "postgres"
    capabilities = frozenset({"transactions"})

    def __init__(self, name: str, session: AwsClients | None = None, min_size: int = 1, max_size: int = 10) -> None:
        try:
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool
        except ImportError:  # pragma: no cover
            raise ConfigurationError("the postgres provider needs psycopg: pip install 'strato[postgres]'") from None
        self.pool = ConnectionPool(
            conninfo(name, session),
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
        )
        try:
            self.pool.open(wait=True, timeout=10)
        except Exception as exc:
            raise ServiceUnavailable(f"cannot connect to PostgreSQL for sql {name!r}: {exc}") from exc

    def query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            return _Session(conn).query(sql, params)

    def execute(self, sql: str, params: dict[str, Any]) -> int:
        with self.pool.connection() as conn:
            return _Session(conn).execute(sql, params)

    def executemany(self, sql: str, rows: list[dict[str, Any]]) -> int:
        with self.transaction() as tx:
            return tx.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[_Session]:
        import psycopg

        with self.pool.connection() as conn:
            try:
                with conn.transaction():
                    yield _Session(conn)
            except psycopg.Error as exc:
                raise _translate(exc) from exc

    @contextmanager
    def migration_lock(self) -> Iterator[_Session]:
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(7283)", {})  # one migrator at a time
            yield tx

    def close(self) -> None:
        self.pool.close()


def open_backend(sql: Sql, services: ProviderServices) -> PostgresBackend:
    """The registry's factory: a connection pool per database (URL or Secrets Manager), closed with the app."""
    return services.shared(f"sql:{sql.name}", lambda: PostgresBackend(sql.name, services.aws()))
