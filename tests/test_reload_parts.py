"""The pieces ``strato dev --reload`` stands on, one by one: which files it watches, how a failure is
placed, the stores a new App takes over, and SQLite connections of ended threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from strato.local.reload import Watched, describe


def test_only_python_files_of_the_app_folder_outside_data_and_dot_folders_are_watched(tmp_path):
    root = tmp_path.resolve()
    watched = Watched(root, root / ".strato")
    assert watched(None, str(root / "app.py")) and watched(None, str(root / "lib" / "models.py"))
    for ignored in (
        root / "notes.txt",
        root / ".strato" / "x.py",
        root / "__pycache__" / "app.cpython-311.py",
        root / ".venv" / "lib" / "x.py",
        root / "venv" / "lib" / "site-packages" / "x.py",
        root.parent / "elsewhere.py",
    ):
        assert not watched(None, str(ignored)), ignored


def _raise_in(folder: Path, source: str, name: str = "mod.py") -> BaseException:
    path = folder / name
    path.write_text(source)
    try:
        exec(compile(source, str(path), "exec"), {})
    except BaseException as exc:  # what the import raised
        return exc
    raise AssertionError("no exception")


def test_a_failure_is_placed_at_the_deepest_line_of_the_app_folder(tmp_path):
    error = _raise_in(tmp_path, "x = 1\n\ndef f():\n    raise KeyError('k')\n\nf()\n")
    assert describe(error, tmp_path) == f"{tmp_path / 'mod.py'}:4: KeyError: 'k'"


def test_a_syntax_error_is_placed_where_python_found_it_even_when_wrapped(tmp_path):
    from strato.core.errors import ConfigurationError

    syntax = _raise_in(tmp_path, "x = (\n")
    try:
        raise ConfigurationError("wrapped") from None  # as the loader wraps it: the context stays
    except ConfigurationError as exc:
        exc.__context__ = syntax
        wrapped = exc
    assert describe(wrapped, tmp_path) == f"{tmp_path / 'mod.py'}:1: SyntaxError: '(' was never closed"


def test_a_failure_outside_the_app_folder_says_what_without_a_place(tmp_path):
    assert describe(ValueError("nope"), tmp_path) == "ValueError: nope"


def test_a_new_app_adopts_the_stores_of_the_one_it_replaces(tmp_path):
    import strato

    old = strato.App("adopting", provider="local", data_dir=tmp_path)
    old.table("t", key="id").put({"id": "a"})
    new = strato.App("adopting", provider="local", data_dir=tmp_path)
    assert new.registry.adopt(old.registry)
    table = new.table("t", key="id")
    assert table.get("a") == {"id": "a"}
    assert new.registry._shared is old.registry._shared  # one set of open files
    new.close()
    opened = strato.App("other", provider="local", data_dir=tmp_path)
    opened.table("t", key="id").get("a")
    assert not opened.registry.adopt(strato.App("x", provider="local", data_dir=tmp_path).registry)
    opened.close()


def test_a_database_closes_the_connections_of_threads_that_ended(tmp_path):
    from strato.runtime.sqlite import Database

    db = Database(tmp_path / "x.db")
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(db.conn))
    thread.start()
    thread.join()
    db.conn.execute("SELECT 1")  # a connection for this thread: the ended thread's one closes
    with pytest.raises(sqlite3.ProgrammingError):
        seen[0].execute("SELECT 1")
    assert len(db._connections) == 1
    db.close()
