"""The sql contract, run unchanged against SQLite and the real PostgreSQL on 127.0.0.1:5432."""

from __future__ import annotations

import threading

import pytest

import strato
from strato.sql import CAPABILITIES
from strato.sql.params import statements, to_pyformat
from tests.conformance.absence import assert_absent, double_cases, lacking


@pytest.fixture(params=["local", "postgres"])
def db(request, make_app):
    if request.param == "postgres":
        request.getfixturevalue("postgres_schema")
    app = make_app("local")
    db = app.sql("main", provider=request.param)
    db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT DEFAULT 'queued')")
    return db


def test_queries_return_dicts(db):
    assert db.execute("INSERT INTO jobs (id, name) VALUES (:id, :name)", {"id": 1, "name": "build"}) == 1
    assert db.query("SELECT id, name, status FROM jobs") == [{"id": 1, "name": "build", "status": "queued"}]
    assert db.query_one("SELECT name FROM jobs WHERE id = :id", {"id": 1}) == {"name": "build"}
    assert db.query_one("SELECT name FROM jobs WHERE id = :id", {"id": 2}) is None
    assert db.query("UPDATE jobs SET status = 'done' WHERE id = 1") == []


def test_one_parameter_style_survives_literals_casts_and_percent_signs(db):
    row = db.query_one("SELECT :a AS a, '10:30' AS t, '100%' AS p, ':notaparam' AS q -- :comment\n", {"a": "x:y"})
    assert row == {"a": "x:y", "t": "10:30", "p": "100%", "q": ":notaparam"}
    if db.engine == "postgres":
        assert db.query_one("SELECT :n::int + 1 AS n, $$it's :raw$$ AS d", {"n": "41"}) == {"n": 42, "d": "it's :raw"}


def test_executemany_and_rowcounts(db):
    rows = [{"id": i, "name": f"job{i}"} for i in range(1, 51)]
    db.executemany("INSERT INTO jobs (id, name) VALUES (:id, :name)", rows)
    assert db.query_one("SELECT count(*) AS n FROM jobs")["n"] == 50
    assert db.execute("UPDATE jobs SET status = 'done' WHERE id <= :last", {"last": 10}) == 10


def test_transactions_commit_or_roll_back_as_a_whole(db):
    with db.transaction() as tx:
        tx.execute("INSERT INTO jobs (id, name) VALUES (1, 'a')")
        tx.execute("INSERT INTO jobs (id, name) VALUES (2, 'b')")
        assert tx.query_one("SELECT count(*) AS n FROM jobs")["n"] == 2
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute("INSERT INTO jobs (id, name) VALUES (3, 'c')")
        raise RuntimeError("changed my mind")
    with pytest.raises(strato.SqlConstraintError, match="constraint"), db.transaction() as tx:
        tx.execute("INSERT INTO jobs (id, name) VALUES (4, 'd')")
        tx.execute("INSERT INTO jobs (id, name) VALUES (5, 'a')")  # duplicate name
    assert [r["id"] for r in db.query("SELECT id FROM jobs ORDER BY id")] == [1, 2]


def test_engine_errors_keep_the_engine_message(db):
    with pytest.raises(strato.SqlError) as error:
        db.query("SELEC nonsense")
    assert "syntax" in str(error.value).lower()
    with pytest.raises(strato.SqlError, match=r"no_such_table|does not exist"):
        db.query("SELECT * FROM no_such_table")
    with pytest.raises(strato.SqlConstraintError):
        db.execute("INSERT INTO jobs (id) VALUES (1)")  # NOT NULL name
    assert db.query("SELECT 1 AS ok") == [{"ok": 1}]  # the connection still works


@pytest.mark.parametrize("sql,params", [("SELECT :a", {}), ("SELECT :a", ["x"]), ("", {}), ("SELECT :a, :b", {"a": 1})])
def test_bad_parameters(db, sql, params):
    with pytest.raises(strato.ValidationError):
        db.query(sql, params)


def test_migrations_apply_once_in_order(db, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_users.sql").write_text(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n"
        "-- a comment; with a semicolon\n"
        "INSERT INTO users (id, email) VALUES (1, 'a;b@example.com');"
    )
    (folder / "002_index.sql").write_text("CREATE INDEX users_email ON users (email);")
    assert db.migrate(folder) == ["001_users.sql", "002_index.sql"]
    assert db.migrate(folder) == []
    assert db.query("SELECT email FROM users") == [{"email": "a;b@example.com"}]
    (folder / "003_more.sql").write_text("ALTER TABLE users ADD COLUMN name TEXT;")
    assert db.migrate(folder) == ["003_more.sql"]
    (folder / "001_users.sql").write_text("CREATE TABLE users (id INTEGER);")
    with pytest.raises(strato.ConfigurationError, match="changed after it was applied"):
        db.migrate(folder)


def test_a_failing_migration_applies_nothing(db, tmp_path):
    (tmp_path / "001_bad.sql").write_text("CREATE TABLE ok_table (id INTEGER); SELEC broken;")
    with pytest.raises(strato.SqlError):
        db.migrate(tmp_path)
    with pytest.raises(strato.SqlError):
        db.query("SELECT * FROM ok_table")
    (tmp_path / "001_bad.sql").unlink()
    (tmp_path / "x.sql").write_text("SELECT 1")
    with pytest.raises(strato.ConfigurationError, match="NNN_description"):
        db.migrate(tmp_path)


def test_concurrent_writers(db):
    errors = []

    def writer(offset: int) -> None:
        try:
            for i in range(25):
                db.execute(
                    "INSERT INTO jobs (id, name) VALUES (:id, :name)",
                    {"id": offset * 100 + i, "name": f"w{offset}-{i}"},
                )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.query_one("SELECT count(*) AS n FROM jobs")["n"] == 150


def test_the_placeholder_translation_itself():
    assert to_pyformat("SELECT :a, '%:b', x::text, 50% FROM t") == "SELECT %(a)s, '%%:b', x::text, 50%% FROM t"
    assert statements("a; 'b;c'; /* d; */ e;") == ["a", "'b;c'", "/* d; */ e"]


def test_connection_from_a_secrets_manager_secret(make_app, postgres_url, moto_server, monkeypatch):
    """On AWS the credentials come from the secret RDS manages; here moto holds one for local PostgreSQL."""
    import json
    from urllib.parse import urlparse

    import boto3

    parsed = urlparse(postgres_url)
    secret = {
        "username": parsed.username or "postgres",
        "password": parsed.password or "",
        "engine": "postgres",
        "host": parsed.hostname,
        "port": parsed.port or 5432,
        "dbname": parsed.path.lstrip("/"),
    }
    arn = boto3.client("secretsmanager", endpoint_url=moto_server).create_secret(
        Name=f"rds-{id(secret)}", SecretString=json.dumps(secret)
    )["ARN"]
    monkeypatch.delenv("STRATO_SQL_MAIN_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("STRATO_SQL_MAIN_SECRET", arn)
    db = make_app("aws").sql("main")
    assert db.engine == "postgres" and db.query("SELECT 41 + 1 AS answer") == [{"answer": 42}]
    monkeypatch.delenv("STRATO_SQL_MAIN_SECRET")
    with pytest.raises(strato.ConfigurationError, match="STRATO_SQL_OTHER_URL"):
        make_app("aws").sql("other").query("SELECT 1")


# -- capabilities -----------------------------------------------------------------------------------
def _in_a_transaction(db):
    with db.transaction() as tx:
        tx.execute("INSERT INTO jobs (id, name) VALUES (:id, :name)", {"id": 9, "name": "in a transaction"})


#: one use of each capability
USES = {"transactions": _in_a_transaction}


def _state(db):
    return db.query("SELECT id, name FROM jobs ORDER BY id")


def test_capabilities_are_known_and_each_one_missing_raises_not_supported(db):
    assert db.capabilities == CAPABILITIES  # transactions are exercised above
    assert_absent(db, USES, state=_state)


@pytest.mark.parametrize("missing", double_cases(CAPABILITIES))
def test_a_provider_without_a_capability_refuses_its_uses_and_stores_nothing(make_app, monkeypatch, missing):
    lacks = lacking(monkeypatch, "sql", missing, CAPABILITIES)
    db = make_app("local").sql("main")
    db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    assert assert_absent(db, USES, state=_state) == lacks
