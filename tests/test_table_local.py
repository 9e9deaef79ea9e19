"""Behaviour only the SQLite provider has: schema evolution, the TTL sweeper, two processes, durability."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import strato
from strato.local.server import Runtime
from strato.table.docs import decode_doc, encode_doc
from strato.table.local import LocalTableBackend


def test_adding_an_index_backfills_it_and_changing_the_key_is_refused(tmp_path):
    first = strato.App("evolve", data_dir=tmp_path)
    table = first.table("docs", key="id")
    table.batch_put([{"id": f"d{i}", "color": "red" if i % 2 else "blue"} for i in range(10)])
    first.close()

    second = strato.App("evolve", data_dir=tmp_path)
    indexed = second.table("docs", key="id", indexes={"by_color": "color"}, ttl="exp")
    assert sorted(i["id"] for i in indexed.query("red", index="by_color")) == ["d1", "d3", "d5", "d7", "d9"]
    second.close()

    third = strato.App("evolve", data_dir=tmp_path)
    with pytest.raises(strato.ConfigurationError, match="declared with"):
        third.table("docs", key="id", sort="ts:number").get(("d1", 1))
    third.close()


def test_ttl_sweeper_deletes_expired_items(tmp_path):
    app = strato.App("sweep", data_dir=tmp_path)
    table = app.table("sessions", key="id", ttl="exp")
    table.put({"id": "old", "exp": time.time() - 1})
    table.put({"id": "new", "exp": time.time() + 3600})
    table.put({"id": "forever"})
    runtime = Runtime(app)
    assert runtime.sweep() == 1
    rows = table.backend.store.db.conn.execute(f"SELECT count(*) FROM {table.backend.t}").fetchone()[0]
    assert rows == 2
    app.close()


def test_a_provider_without_a_capability_raises_not_supported(tmp_path):
    app = strato.App("caps", data_dir=tmp_path)
    table = app.table("docs", key="id", indexes={"by_x": "x"})

    class NoTransactions(LocalTableBackend):
        capabilities = LocalTableBackend.capabilities - {"transactions", "indexes", "conditions"}

    table._backend = NoTransactions(table.backend.store, table.schema, "table_docs")
    table.put({"id": "a", "x": "1"})
    with pytest.raises(strato.NotSupported, match="transactions"), app.transaction() as tx:
        tx.put(table, {"id": "b"})
    with pytest.raises(strato.NotSupported, match="indexes"):
        table.query("1", index="by_x")
    with pytest.raises(strato.NotSupported, match="conditions"):
        table.put({"id": "a"}, if_absent=True)
    assert table.get("b") is None
    app.close()


def test_documents_that_look_like_internal_tags_round_trip():
    doc = {"a": {"$n": "x"}, "b": [{"$b": "y"}, {"$d": [1, 2]}], "c": {"$n": "1", "other": 2}}
    assert decode_doc(encode_doc(doc)) == doc
    assert decode_doc(encode_doc({"$n": "top"})) == {"$n": "top"}


WRITER = """
import sys, strato
app = strato.App("shared", data_dir=sys.argv[1])
table = app.table("counter", key="id")
for i in range(300):
    table.put({"id": f"{sys.argv[2]}-{i}"})
    table.update("total", add={"n": 1})
"""


def test_two_processes_share_one_data_directory(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name]) for name in ("a", "b")]
    assert [p.wait(120) for p in procs] == [0, 0]
    app = strato.App("shared", data_dir=tmp_path)
    table = app.table("counter", key="id")
    assert table.get("total")["n"] == 600  # no lost update across processes
    assert all(table.get(f"{n}-{i}") for n in "ab" for i in range(300))
    app.close()


KILLED = """
import sys, strato
app = strato.App("crash", data_dir=sys.argv[1])
table = app.table("acked", key="id")
for i in range(100000):
    table.put({"id": f"k{i}", "n": i})
    print(i, flush=True)
"""


def test_acknowledged_writes_survive_sigkill(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    acknowledged = -1
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 2000:
            break
    proc.kill()
    proc.wait(10)
    app = strato.App("crash", data_dir=tmp_path)
    table = app.table("acked", key="id")
    missing = [i for i in range(acknowledged + 1) if table.get(f"k{i}") is None]
    assert missing == []
    app.close()
